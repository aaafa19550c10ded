#!/bin/bash
# waits for pass 1 (30 steps), evaluates it, then pass 2 (60 steps) into out60 and evaluates that
cd /tmp/kfit
while [ ! -f out/en_woman_window_hdtf_8s_fit.json ]; do sleep 10; done
nice -n 15 /work/main/.venv/bin/python evaluate.py en_woman_blue_7s en_woman_window_hdtf_8s 2>&1 | grep --line-buffered -v -i warn > out/eval_blue_window.log
for spec in "en_man_map_5s am_michael" "en_woman_flag_8s af_heart" "en_woman_blue_7s af_heart" "en_woman_window_hdtf_8s af_heart"; do
  set -- $spec
  OUT=/tmp/kfit/out60 nice -n 15 /work/main/.venv/bin/python fit.py $1 $2 60 0.05 2>&1 | grep --line-buffered -v -i "warn\|super().__init__\|WeightNorm.apply" > out60/$1_fit.log
  OUT=/tmp/kfit/out60 nice -n 15 /work/main/.venv/bin/python evaluate.py $1 2>&1 | grep --line-buffered -v -i warn > out60/$1_eval.log
done
