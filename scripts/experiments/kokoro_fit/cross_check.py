"""Specificity control: each woman's fitted held-out synthesis vs the OTHER women's references
(and the start voice vs them). If fitting is speaker-specific, the gain should be larger on the own reference."""
import sys, json, numpy as np, soundfile as sf, os
sys.path.insert(0, '/work/main')
from talker.eval.voice import speaker_similarity
OUT = os.environ.get('OUT', '/tmp/kfit/out')
W = ['en_woman_flag_8s', 'en_woman_blue_7s', 'en_woman_window_hdtf_8s']
refs = {w: sf.read(f'/tmp/kfit/refs/{w}.wav', dtype='float32') for w in W}
tab = {}
for fitref in W:
    for judge in W:
        d = []
        for i in range(3):
            a0, s = sf.read(f'{OUT}/{fitref}_held{i}_start.wav', dtype='float32')
            a1, s = sf.read(f'{OUT}/{fitref}_held{i}_fit.wav', dtype='float32')
            r, sr = refs[judge]
            d.append(speaker_similarity(a1, s, r, sr) - speaker_similarity(a0, s, r, sr))
        tab[(fitref, judge)] = float(np.mean(d))
        print(f'fit on {fitref:26s} judged vs {judge:26s}: mean sim change {np.mean(d):+.4f}', flush=True)
own = np.mean([tab[(w, w)] for w in W]); other = np.mean([tab[(a, b)] for a in W for b in W if a != b])
print(f'own-reference gain {own:+.4f}  other-reference gain {other:+.4f}')
