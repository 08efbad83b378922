"""xl/sharedStrings.xml: every text cell's string, stored once and referred to by index."""

from .xml import DECLARATION, MAIN_NS, text_element


class SharedStrings:
    def __init__(self):
        self.index: dict[str, int] = {}
        self.count = 0

    def add(self, s: str) -> int:
        self.count += 1
        i = self.index.get(s)
        if i is None:
            i = self.index[s] = len(self.index)
        return i

    def xml_chunks(self):
        yield (DECLARATION + f'<sst xmlns="{MAIN_NS}" count="{self.count}" uniqueCount="{len(self.index)}">').encode()
        batch = []
        for s in self.index:  # dicts keep insertion order, which is index order
            batch.append(f"<si>{text_element('t', s)}</si>")
            if len(batch) == 4096:
                yield "".join(batch).encode()
                batch = []
        yield ("".join(batch) + "</sst>").encode()
