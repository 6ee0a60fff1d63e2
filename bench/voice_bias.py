"""Decoder bias and encoder window on the voice dev set, in one process (docs/BENCHMARKS.md).

Usage: python bench/voice_bias.py full hotfull lexpromptfull w10 w15 short1 short2
  full           today's prompt (names + aliases, 200 tokens), 30 s window
  hotfull        names cut to 120 tokens + faster-whisper `hotwords` (lexicon, <= 100 tokens)
  lexpromptfull  names cut to 120 tokens + lexicon words in the prompt up to 200 tokens
  w10 / w15      today's prompt, window of speech + 2 s but at least 10 / 15 s
  short1/short2  today's prompt, window of speech + 1 / 2 s
Every transcript is repaired and extracted as bench/voice.py does; `cpu` is process time.
"""

import json
import math
import re
import sys
import time
from datetime import datetime

sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parent))
sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parent.parent))
import faster_whisper.transcribe as fwt
from faster_whisper import WhisperModel
from rapidfuzz.distance import Levenshtein
from scoring import TZ, scores, shared_data

import bot.asr.prompt as P
from bot.asr import decoding as D
from bot.asr.audio import decode_to_pcm16k
from bot.asr.model_files import default_cache_dir, ensure_bundled_model
from bot.asr.prompt import build_prompt, count_prompt_tokens, to_simplified
from config.rules import load_rules
from handlers.extraction import CustomerRef, extract_note, warm_up
from handlers.extraction.repair import customer_words, repair_transcript

rules = load_rules()

folder = shared_data("voice")
data = json.loads((folder / "voice_dev.json").read_text())
customers = [
    CustomerRef(i + 1, c["name"], tuple(c.get("aliases", ())))
    for i, c in enumerate(data["customers"])
]
names = [w for c in customers for w in (c.name, *c.aliases)]
words = names + list(rules.stage_names)
trusted = customer_words(customers)

m = WhisperModel(
    str(ensure_bundled_model(default_cache_dir())), device="cpu", compute_type="int8", cpu_threads=2
)
pcms = {
    it["id"]: decode_to_pcm16k((folder / it["file"]).read_bytes(), max_s=60, fmt="amr")
    for it in data["items"]
}
warm_up()
NOT = re.compile(r"[\W_]+")


def cer_text(t):
    return NOT.sub("", to_simplified(t)).casefold()


def run(name, frames_pad=None, prompt=None, hotwords=None, beam=5):
    orig = fwt.pad_or_trim
    tot_e = tot_r = 0
    tot_e_rep = 0
    right = {}
    asked = {}
    wall = 0.0
    for it in data["items"]:
        pcm = pcms[it["id"]]
        if frames_pad is not None:
            n = min(3000, max(int(frames_pad * 100), math.ceil((len(pcm) / 16000 + 2) * 100)))
            n += n % 2
            fwt.pad_or_trim = lambda a, length=3000, n=n: orig(a, n)
        t = time.perf_counter()
        c0 = time.process_time()
        segs, _info = m.transcribe(
            pcm,
            language="zh",
            beam_size=beam,
            temperature=list(D.TEMPERATURES),
            compression_ratio_threshold=2.4,
            log_prob_threshold=-1.0,
            no_speech_threshold=0.6,
            condition_on_previous_text=False,
            initial_prompt=prompt or None,
            hotwords=hotwords,
            max_new_tokens=200,
            without_timestamps=True,
            vad_filter=True,
            vad_parameters={"min_silence_duration_ms": 500},
        )
        text = to_simplified("".join(s.text for s in segs).strip())
        wall += time.process_time() - c0
        fwt.pad_or_trim = orig
        rep = repair_transcript(text, rules.lexicon_words, trusted=trusted).text
        ex = extract_note(
            rep,
            now=datetime.fromisoformat(it["now"]),
            tz=TZ,
            customers=customers,
            stages=rules.stage_names,
        )
        for f, ok in scores(ex, it["expect"]).items():
            asked[f] = asked.get(f, 0) + 1
            right[f] = right.get(f, 0) + ok
        if it.get("lang", "zh") != "en" and re.search(r"[\u4e00-\u9fff]", it["text"]):
            ref = cer_text(it["text"])
            tot_r += len(ref)
            tot_e += Levenshtein.distance(ref, cer_text(text))
            tot_e_rep += Levenshtein.distance(ref, cer_text(rep))
        print(f"   {it['id']} {time.perf_counter() - t:.2f}s {text}", flush=True)
    acc = {
        f: f"{right[f]}/{asked[f]}"
        for f in ("customer", "due_date", "action", "stage", "amount", "commitment")
    }
    print(
        name,
        f"cer {tot_e / tot_r:.4f} rep {tot_e_rep / tot_r:.4f} cpu {wall:.1f}s",
        acc,
        flush=True,
    )


prompt_today = build_prompt(words, ())

P.PROMPT_TOKEN_BUDGET = 120
names_short = build_prompt(words, ())
P.PROMPT_TOKEN_BUDGET = 200


def lexp():
    kept = []
    for w in rules.lexicon_words:
        cand = names_short.rstrip("。") + "。常用词：" + "、".join([*kept, w]) + "。"
        if P.count_prompt_tokens(cand) > 200:
            break
        kept.append(w)
    return names_short.rstrip("。") + "。常用词：" + "、".join(kept) + "。"


lex_prompt = lexp()
print(lex_prompt)


hot = []
for w in rules.lexicon_words:
    if count_prompt_tokens("、".join([*hot, w])) > 100:
        break
    hot.append(w)
lex_hot = "、".join(hot)
print("prompt tokens", count_prompt_tokens(prompt_today), "hot", len(hot))
which = sys.argv[1:]
if "w10" in which:
    run("min10s+prompt", 10.0, prompt_today)
if "w15" in which:
    run("min15s+prompt", 15.0, prompt_today)
if "full" in which:
    run("full+prompt", None, prompt_today)
if "short1" in which:
    run("short1+prompt", 1.0, prompt_today)
if "short2" in which:
    run("short2+prompt", 2.0, prompt_today)
if "hot" in which:
    run("short1+prompt+hotwords", 1.0, prompt_today, lex_hot)
if "hotfull" in which:
    run("full+prompt120+hotwords", None, names_short, lex_hot)
if "lexprompt" in which:
    run("short1+lexprompt", 1.0, lex_prompt)
if "lexpromptfull" in which:
    run("full+lexprompt", None, lex_prompt)
