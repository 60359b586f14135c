#!/usr/bin/env bash
# plot.sh SCATTER.dat OUT.png TITLE — the estimated against the measured
# (optimizing tier) cost of every pipeline variant, both as ratios to the
# workload's input module, log-log. One point per (workload, variant).
set -euo pipefail
dat=$1 png=$2 title=$3
gnuplot <<GP
set terminal pngcairo size 900,700 font ",11"
set output "$png"
set title "$title"
set logscale xy
set xlabel "estimated cycles / estimated cycles of the input"
set ylabel "measured CPU time (V8 --no-liftoff) / time of the input"
set grid
set key off
plot "$dat" using 3:4 with points pt 7 ps 0.6 lc rgb "#3060a0", \
     "$dat" using 3:(strstrt(strcol(2), "unroll") ? \$4 : 1/0) with points pt 6 ps 1.1 lc rgb "#c03030"
GP
