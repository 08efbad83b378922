"""Write tests/data/tokenizer_prompts.jsonl: the prompts the tokenizer's formulas are checked on (one JSON
string per line). Run it again after changing this file; the expected ids always come from tiktoken at test
time, never from here.

    .venv/bin/python tests/make_tokenizer_corpus.py
"""

import json
import random
from pathlib import Path

OUT = Path(__file__).parent / "data" / "tokenizer_prompts.jsonl"

SENTENCES = [
    "The quick brown fox jumps over the lazy dog.",
    "Hello, world!",
    "If today is Monday, tomorrow is",
    "Alan Turing theorized that computers would one day become",
    "The capital of France is",
    "Once upon a time, there was a little girl who",
    "I think, therefore I am.",
    "To be or not to be, that is the question.",
    "She sells sea shells by the sea shore.",
    "The mitochondria is the powerhouse of the cell.",
    "GPT-2 is a language model trained on web text.",
    "Spreadsheets are all you need.",
    "Attention is all you need.",
    "Water boils at 100 degrees Celsius.",
    "My favourite colour is blue; yours is green.",
    "Please don't feed the animals.",
    "We'll see what happens next week.",
    "You're welcome to join us at 7pm.",
    "The meeting was moved to Tuesday afternoon.",
    "Can you believe it? I can't!",
    "A stitch in time saves nine.",
    "Every good boy deserves fudge.",
    "The year 1984 was not like 1984.",
    "Python 3.11 was released in October 2022.",
    "E = mc^2 is Einstein's famous equation.",
    "He said: \"Stop right there.\"",
    "Read the README.md file first.",
    "Visit https://example.com/path?q=1&r=2 for details.",
    "Email me at someone@example.org tomorrow.",
    "The price is $19.99 (plus tax).",
]

CONTRACTIONS = ["s", "t", "re", "ve", "m", "ll", "d"]
SUBJECTS = ["it", "they", "we", "you", "I", "she", "he", "that", "don", "who"]

CHUNKS = {
    "numbers": ["0", "7", "42", "123", "1234", "12345", "123456", "1234567", "12345678", "3.14159",
                "1,000,000", "2024-11-26", "0x1F", "007", "99 bottles", "1st 2nd 3rd 4th", "v1.2.3", "+44 20 7946 0958",
                "10%", "-273.15", "1e-5", "6.02e23", "1/2", "12:30:45", "2^10=1024", "404", "31415926535897932384"],
    "punctuation": ["!!!", "...", "?!?!", "---", "((()))", "@#$%^&*", ":-)", ";-)", "<|endoftext|>", "[[]]",
                    "{}", "~~~", "''", "\"\"\"", "``", "...!?", "#hashtag", "@mention", "a.b.c", "x,y,z", "*bold*",
                    "_under_", "//comment", "/* c */", "<tag>", "&amp;", "\\n literally", "--flag=value", "!=", "=>"],
    "latin": ["café", "naïve", "Ångström", "Straße", "façade", "œuvre", "Dvořák", "Łódź", "São Paulo", "Zürich",
              "résumé", "piñata", "Ærø", "İstanbul", "ğüşıöç", "Mañana", "Crème brûlée", "Fjörður", "Ægir",
              "Årets bästa"],
    "greek": ["Καλημέρα κόσμε", "αβγδε", "Ωμέγα", "φιλοσοφία", "Σωκράτης", "ΑΘΗΝΑ", "λόγος", "π ≈ 3.14"],
    "cyrillic": ["Привет мир", "Москва", "спасибо", "ЁЖИК", "Україна", "Здравствуйте", "щука", "Беларусь"],
    "cjk": ["日本語のテキスト", "東京", "こんにちは", "カタカナ", "中文字符", "你好，世界", "한국어", "안녕하세요",
            "漢字かな交じり文", "北京欢迎你", "ひらがな", "大丈夫です", "谢谢", "서울특별시"],
    "symbols": ["€100", "©®™", "→←↑↓", "∑∫√∞", "♠♥♦♣", "25°C", "±0.5", "½ cup", "x²", "Ⅻ o'clock", "① ② ③",
                "§ 12", "¶", "•", "…", "–—", "«quotes»", "‘single’", "“double”", "¿Qué?", "¡Hola!", "¥500",
                "£20", "₹", "µs", "Ω", "℃", "™", "✓ done", "★★★"],
    "emoji": ["😀", "👍🏽", "🇺🇸", "👨‍👩‍👧", "I ❤️ you", "emoji😀mix", "🚀🚀🚀", "😂😂", "🎉 party",
              "hi 👋", "🙂🙃", "🐍 python", "𝐁𝐨𝐥𝐝", "𝔉𝔯𝔞𝔨𝔱𝔲𝔯", "𠀀𠀁"],
}


def corpus() -> list[str]:
    rng = random.Random(20261126)
    out = list(SENTENCES)
    for c in CONTRACTIONS:  # every contraction, lower and upper case, after words and on its own
        for subject in SUBJECTS[:5]:
            out.append(f"{subject}'{c} fine")
            out.append(f"{subject.upper()}'{c.upper()} FINE")
        out += [f"'{c}", f"'{c.upper()}", f"x'{c}y", f"?'{c}", f" '{c}", f"''{c}", f"'{c}'{c}", f"\"{c}'{c}"]
    out += ["don't", "DON'T", "Don't", "won't", "it's", "IT'S", "It'S", "I'm", "I'M", "we've", "WE'VE",
            "they'd", "THEY'D", "you'll", "YOU'LL", "they're", "THEY'RE", "rock'n'roll", "'tis", "o'clock"]
    for name, chunks in CHUNKS.items():
        out += chunks
        for chunk in chunks:  # in a sentence
            out.append(f"Here is {chunk} in text")
    for n in range(1, 7):  # runs of spaces, tabs and newlines, around and between words
        spaces, tabs, newlines = " " * n, "\t" * n, "\n" * n
        out += [spaces, f"a{spaces}b", f"{spaces}lead", f"trail{spaces}", f"x{tabs}y", newlines,
                f"line{newlines}next", f"a {newlines} b", f"\t{spaces}\tz", f"end.{newlines}"]
    out += ["\r\n", "a\r\nb", "\t", " \t \n ", "\n \n", "x \n", " \n x", "\u00a0nbsp", "thin\u2009space",
            "ideo\u3000space", "\u2028ls", "a\u0085b", "\x0bv\x0cf"]
    for length in (20, 22, 23, 24, 25, 30):  # words at and over 24 bytes
        out.append("a" * length)
        out.append("Hi " + "xy" * (length // 2) + " there")
    out += ["é" * 12, "é" * 13, "日" * 8, "日" * 9, "😀" * 6, "😀" * 7, "supercalifragilisticexpialidocious",
            "antidisestablishmentarian", "Pneumonoultramicroscopic", "----------------------------------------------------------------"]
    out += ["word " * 15, "word " * 16, "word " * 20, "x" * 400, "a " * 200, "🙂" * 20, "1" * 50, ""]
    pool = ("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .,;:!?'\"-()\t\n" + "éüßçñ" + "αβγ"
            + "жщ" + "日本中" + "€©→" + "😀👍")
    while len(out) < 560:  # random mixtures
        out.append("".join(rng.choice(pool) for _ in range(rng.randint(1, 24))))
    seen, unique = set(), []
    for p in out:
        if p not in seen:
            seen.add(p)
            unique.append(p)
    return unique


if __name__ == "__main__":
    prompts = corpus()
    OUT.parent.mkdir(exist_ok=True)
    OUT.write_text("".join(json.dumps(p, ensure_ascii=False) + "\n" for p in prompts), encoding="utf-8")
    print(f"wrote {len(prompts)} prompts to {OUT}")
