"""Text handling: English and Mandarin normalisation, language detection and splitting."""

from __future__ import annotations

import pytest

from talker.text.metrics import cer, join_words, normalize, wer, word_count
from talker.text.normalize import (
    cardinal_en,
    cardinal_zh,
    detect_script_language,
    has_speakable,
    normalize_en,
    normalize_text,
    normalize_zh,
    ordinal_en,
    year_en,
)
from talker.text.split import split_sentences, split_text

# --------------------------------------------------------------------------- normalisation


@pytest.mark.parametrize("raw, spoken", [
    ("I paid $5.50 for 3 apples on Jan. 5th, 2024.",
     "I paid five dollars and fifty cents for three apples on January fifth, twenty twenty-four."),
    ("It costs $1 or €2.5 million or £0.99.", "It costs one dollar or two point five million euros or ninety-nine pence."),
    ("Growth was 12.5% in 1999 and 2005.", "Growth was twelve point five percent in nineteen ninety-nine and two "
                                           "thousand five."),
    ("Meet me at 3:30 p.m. Then at 10:05 or 7:00.",
     "Meet me at three thirty PM. Then at ten oh five or seven o'clock."),
    ("Dr. Smith met Mr. Jones, e.g. at St. Louis, etc. The end.",
     "Doctor Smith met Mister Jones, for example at Saint Louis, et cetera. The end."),
    ("Visit https://www.example.com/path?x=1 or mail john.doe@example.org now.",
     "Visit example dot com or mail john dot doe at example dot org now."),
    ("Hello 😀👍🏽 world 🇺🇸!", "Hello world!"),
    ("The 1990s, the 21st century, 2nd and 112th.",
     "The nineteen nineties, the twenty-first century, second and one hundred twelfth."),
    ("Rock & roll: 1,234,567 people, 3.14, -5, 007.",
     "Rock and roll: one million two hundred thirty-four thousand five hundred sixty-seven people, three point "
     "one four, minus five, zero zero seven."),
    ("2024-01-05 and 12/25/2024", "January fifth, twenty twenty-four and December twenty-fifth, twenty twenty-four"),
    ("“Quoted” text — with  dashes…", "Quoted text, with dashes..."),
    ("5 km, 1 kg and 25°C", "five kilometers, one kilogram and twenty-five degrees Celsius"),
])
def test_normalize_english(raw, spoken):
    assert normalize_en(raw) == spoken
    assert normalize_en(spoken) == spoken  # idempotent


@pytest.mark.parametrize("n, words", [(0, "zero"), (13, "thirteen"), (40, "forty"), (101, "one hundred one"),
                                      (1000000, "one million"), (2019, "two thousand nineteen")])
def test_cardinal_en(n, words):
    assert cardinal_en(n) == words


def test_ordinals_and_years_en():
    assert [ordinal_en(n) for n in (1, 2, 3, 5, 8, 9, 12, 20, 21, 100)] == [
        "first", "second", "third", "fifth", "eighth", "ninth", "twelfth", "twentieth", "twenty-first",
        "one hundredth"]
    assert [year_en(y) for y in (1905, 1900, 2000, 2007, 2010, 1066)] == [
        "nineteen oh five", "nineteen hundred", "two thousand", "two thousand seven", "twenty ten", "ten sixty-six"]


@pytest.mark.parametrize("raw, spoken", [
    ("我有2个苹果和3本书。", "我有两个苹果和三本书。"),
    ("2024年1月5日，气温-5度，增长了12.5%。", "二零二四年一月五日，气温负五度，增长了百分之十二点五。"),
    ("价格是¥12.50，或者$100。", "价格是十二点五元，或者一百美元。"),
    ("现在是3:30，还有15:05。", "现在是三点三十分，还有十五点零五分。"),
    ("电话10086，人口1400000000。", "电话一万零八十六，人口十四亿。"),
    ("我喜欢Python编程, 你呢?", "我喜欢Python编程，你呢？"),
    ("全角数字１２３和ＡＢＣ", "全角数字一百二十三和ABC"),
    ("2024-03-15的会议", "二零二四年三月十五日的会议"),
    ("1/2的人，第3名", "二分之一的人，第三名"),
    ("你好😀！", "你好！"),
])
def test_normalize_chinese(raw, spoken):
    assert normalize_zh(raw) == spoken


@pytest.mark.parametrize("n, words", [(10, "十"), (15, "十五"), (110, "一百一十"), (1005, "一千零五"),
                                      (1010, "一千零一十"), (10086, "一万零八十六"), (100000, "十万"),
                                      (100010000, "一亿零一万"), (2000, "两千"),
                                      (123456789, "一亿二千三百四十五万六千七百八十九")])
def test_cardinal_zh(n, words):
    assert cardinal_zh(n) == words


def test_detect_script_language():
    assert detect_script_language("Hello world") == "en"
    assert detect_script_language("你好世界") == "zh"
    assert detect_script_language("我喜欢Python编程") == "zh"
    assert detect_script_language("こんにちは") == "ja"
    assert detect_script_language("Привет") == "ru"
    assert detect_script_language("😀 !!") == ""
    assert not has_speakable("😀👍🏽 ...") and has_speakable("a😀")
    assert normalize_text("Bonjour 😀", "fr") == "Bonjour"


# --------------------------------------------------------------------------- splitting


def test_split_sentences_en_and_zh():
    assert split_sentences('Hello there. "How are you?" Fine.\nNext line') == [
        "Hello there.", '"How are you?"', "Fine.", "Next line"]
    assert split_sentences("你好。今天天气很好！我们去吧？好的") == ["你好。", "今天天气很好！", "我们去吧？", "好的"]


def test_split_text_limits_and_never_cuts_words():
    text = ("This is a very long sentence, with clauses; and more words that go on and on without any stop at "
            "all until it ends. Short one. ") * 5
    pieces = split_text(text, 60)
    assert all(len(p) <= 60 for p in pieces)
    words = set(text.split())
    assert all(w in words for p in pieces for w in p.split())
    assert " ".join(pieces).split() == text.split()
    zh = "我们今天去公园散步然后去超市买东西再回家做饭吃饭看电视睡觉，明天早上起来继续工作学习锻炼身体。"
    zh_pieces = split_text(zh, 15)
    assert all(len(p) <= 15 for p in zh_pieces) and "".join(zh_pieces) == zh
    assert split_text("a" * 50, 20) == ["a" * 20, "a" * 20, "a" * 10]  # no space anywhere: the only way


# --------------------------------------------------------------------------- metrics


def test_normalize_strips_case_punctuation_and_space():
    assert normalize("  Don't STOP—Mother-nature, “ok”！ ") == "dont stop mother nature ok"
    assert normalize("对，这就是我。") == "对 这就是我"


def test_wer_exact_numbers():
    assert wer("the cat sat on the mat", "the bat sat on mat") == pytest.approx(2 / 6)
    assert wer("the cat sat", "the cat sat on") == pytest.approx(1 / 3)
    assert wer("Some call me nature, others call me mother nature.",
               "some call me nature others call me Mother Nature") == 0.0
    assert wer("a b c", "") == 1.0
    assert wer("", "") == 0.0
    assert wer("", "anything") == 1.0
    assert wer("对这就是", "对 这 就 是") == 0.0  # CJK characters are the words
    # pooling: errors = wer × word_count gives back the edit count
    assert wer("the cat sat on the mat", "the bat sat on mat") * word_count("the cat sat on the mat") == pytest.approx(2)
    assert word_count("Don't stop—mother-nature, 你好!") == 6


def test_cer_exact_numbers():
    assert cer("hello world", "hallo world") == pytest.approx(1 / 11)
    assert cer("对，这就是我，万人敬仰的太乙真人。", "对,这就是我万人仅仰的太以真人。") == pytest.approx(2 / 14)
    assert cer("對這", "对这") == 1.0  # traditional vs simplified is not unified


def test_join_words_spaces_latin_not_cjk():
    assert join_words(["Set", "white", "in", "Z3,", "no."]) == "Set white in Z3, no."
    assert join_words(["和", "家", "欢", "乐,", "吃", "饱"]) == "和家欢乐,吃饱"
    assert join_words(["我", "用", "Python", "写", "code"]) == "我用Python写code"
    assert join_words([" a ", "", "b"]) == "a b"
