#!/bin/bash
cd /tmp/kfit
for spec in "en_woman_flag_8s af_heart" "en_man_map_5s am_michael" "en_woman_blue_7s af_heart" "en_woman_window_hdtf_8s af_heart"; do
  set -- $spec
  nice -n 15 /work/main/.venv/bin/python fit.py $1 $2 ${STEPS:-30} ${LAM:-0.05} 2>&1 | grep -v -i "warn\|super().__init__\|WeightNorm.apply" > out/$1_fit.log
done
