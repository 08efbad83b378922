"""Only what pyproject.toml cannot say: templates/ (the formulas, at the top of the repository, where people
read and edit them) go into every wheel as the package data xlgpt/stage_templates/; and the compiled loops
(xlgpt/xlsx/_speedups.c), optional: where no C compiler is found xlgpt installs without them and runs the same
NumPy code they stand for."""

from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_py import build_py


class BuildPyWithTemplates(build_py):
    def run(self):
        super().run()
        target = Path(self.build_lib) / "xlgpt" / "stage_templates"
        self.mkpath(str(target))
        for f in sorted(Path(__file__).resolve().parent.joinpath("templates").glob("*.toml")):
            self.copy_file(str(f), str(target / f.name))


SPEEDUPS = Extension("xlgpt.xlsx._speedups", ["xlgpt/xlsx/_speedups.c"], optional=True,
                     # IEEE arithmetic step by step, as NumPy does it: no fused multiply-add, no fast-math
                     extra_compile_args=["-O2", "-ffp-contract=off"])

setup(cmdclass={"build_py": BuildPyWithTemplates}, ext_modules=[SPEEDUPS])
