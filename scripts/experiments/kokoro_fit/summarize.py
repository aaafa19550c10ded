import json, glob, os, numpy as np
for OUT in ['/tmp/kfit/out', '/tmp/kfit/out60']:
    rows = []
    for f in sorted(glob.glob(f'{OUT}/*_eval.json')):
        e = json.load(open(f)); ref = e['ref']
        fit = json.load(open(f'{OUT}/{ref}_fit.json'))
        rows.append((ref, fit, e))
    if not rows: continue
    print(f'== {OUT}')
    print(f"{'reference':26s} {'voice':10s} steps obj_start obj_fit  (chg)   |delta| fit_s total_s  sim_start sim_fit  diff    insample s->f    WER s/f")
    for ref, fit, e in rows:
        print(f"{ref:26s} {fit['voice']:10s} {fit['steps']:5d} {fit['obj_start']:.4f}   {fit['obj_fit']:.4f} ({(fit['obj_fit']/fit['obj_start']-1)*100:+.0f}%) {fit['delta_norm']:.3f}  {fit['fit_s']:5.0f} {fit['total_s']:6.0f}   "
              f"{e['mean_sim_start']:.4f}   {e['mean_sim_fit']:.4f}  {e['mean_sim_fit']-e['mean_sim_start']:+.4f}  {e['insample_sim_start']:.3f}->{e['insample_sim_fit']:.3f}  {e['mean_wer_start']:.3f}/{e['mean_wer_fit']:.3f}")
        print('     per sentence start', np.round(e['sim_start'], 4), 'fit', np.round(e['sim_fit'], 4))
    d = [e['mean_sim_fit'] - e['mean_sim_start'] for _, _, e in rows]
    print(f"MEAN over {len(rows)}: sim start {np.mean([e['mean_sim_start'] for _,_,e in rows]):.4f} fit {np.mean([e['mean_sim_fit'] for _,_,e in rows]):.4f} diff {np.mean(d):+.4f} (min {min(d):+.4f}, max {max(d):+.4f}); "
          f"WER start {np.mean([e['mean_wer_start'] for _,_,e in rows]):.3f} fit {np.mean([e['mean_wer_fit'] for _,_,e in rows]):.3f}")
