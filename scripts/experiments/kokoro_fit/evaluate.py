"""Held-out judgement: ONNX synthesis of 3 unseen sentences with the start voice and the fitted voice
(start pack with the fitted delta added to the timbre half of every row); resemblyzer similarity to the
reference and Whisper WER.  usage: evaluate.py REF [REF ...]"""
import sys, json, glob, numpy as np, soundfile as sf
sys.path.insert(0, '/tmp/kfit'); sys.path.insert(0, '/work/main')
import common, os
OUT = os.environ.get('OUT', '/tmp/kfit/out')
from talker.eval.voice import speaker_similarity
from talker.asr import transcribe
from talker.text.metrics import wer
HELD = ["Our train leaves at half past nine, so please be on time.",
        "Did you remember to bring the tickets for Friday's concert?",
        "The museum opened in 1998 and now welcomes over two million visitors a year."]
rows = []
for ref_name in sys.argv[1:]:
    fit = json.load(open(f'{OUT}/{ref_name}_fit.json'))
    ref, sr = sf.read(f'/tmp/kfit/refs/{ref_name}.wav', dtype='float32')
    P0 = common.pack(fit['voice']); P1 = P0.copy(); P1[:, :128] += np.load(f'{OUT}/{ref_name}_delta.npy')[None, :]
    r = dict(ref=ref_name, voice=fit['voice'], sim_start=[], sim_fit=[], wer_start=[], wer_fit=[])
    for i, text in enumerate(HELD):
        ids = common.ids_of(text)
        for tag, P in (('start', P0), ('fit', P1)):
            a, _ = common.onnx_synth(ids, P)
            sf.write(f'{OUT}/{ref_name}_held{i}_{tag}.wav', a, 24000)
            r[f'sim_{tag}'].append(speaker_similarity(a, 24000, ref, sr))
            hyp = transcribe(a, 24000, language='en').text
            r[f'wer_{tag}'].append(wer(text, hyp))
    # in-sample (fitting sentence, port re-synthesis with the reference's durations)
    for tag in ('start', 'fit'):
        a, s = sf.read(f'{OUT}/{ref_name}_resynth_{tag}.wav', dtype='float32')
        r[f'insample_sim_{tag}'] = speaker_similarity(a, s, ref, sr)
    r['mean_sim_start'] = float(np.mean(r['sim_start'])); r['mean_sim_fit'] = float(np.mean(r['sim_fit']))
    r['mean_wer_start'] = float(np.mean(r['wer_start'])); r['mean_wer_fit'] = float(np.mean(r['wer_fit']))
    print(json.dumps(r), flush=True)
    json.dump(r, open(f'{OUT}/{ref_name}_eval.json', 'w'), indent=1)
    rows.append(r)
if rows:
    d = [r['mean_sim_fit'] - r['mean_sim_start'] for r in rows]
    print('MEAN held-out similarity start %.4f fit %.4f diff %+.4f; WER start %.3f fit %.3f' % (
        np.mean([r['mean_sim_start'] for r in rows]), np.mean([r['mean_sim_fit'] for r in rows]), np.mean(d),
        np.mean([r['mean_wer_start'] for r in rows]), np.mean([r['mean_wer_fit'] for r in rows])))
