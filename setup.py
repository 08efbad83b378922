"""Only what pyproject.toml cannot say: templates/ (the formulas, at the top of the repository, where people
read and edit them) go into every wheel as the package data xlgpt/stage_templates/."""

from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py


class BuildPyWithTemplates(build_py):
    def run(self):
        super().run()
        target = Path(self.build_lib) / "xlgpt" / "stage_templates"
        self.mkpath(str(target))
        for f in sorted(Path(__file__).resolve().parent.joinpath("templates").glob("*.toml")):
            self.copy_file(str(f), str(target / f.name))


setup(cmdclass={"build_py": BuildPyWithTemplates})
