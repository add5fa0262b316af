# Benchmarks (issue 5). Include from the top Makefile:  include tests/benchmarks/bench.mk
# Uses the top Makefile's VENV, PY and STAMP. Never part of `make test`.
#
#   make bench                  full run (about 20-25 min on 2 cores, Q 6 of them), results/*.json
#   make bench BENCH_QUICK=1    smoke run on a few files, one round (about 1 min)
#   make bench BENCH_RUNS=5     more rounds per scenario (medians)
#   make bench BENCH_SCENARIOS=A,E
#   make bench BENCH_SCENARIOS=H,R,P   only HEIC and camera RAW input (data from the corpus)
#   make bench BENCH_SCENARIOS=A,D,U   durable publish vs --no-sync, and --update (issue 13)
#   make bench BENCH_SCENARIOS=Q       quality targets and --format auto (issue 14, corpus JPEGs)
#   make bench BENCH_SCENARIOS=D,D+,W,W+ BENCH_RUNS=1   many small files (issue 19): D+ is
#                               100,000 PNGs (Pixmill, naive; about 3 min a round), W and W+ the
#                               window on 20,000 and 100,000 (about 0.5 and 1.5 min a round);
#                               not in the default list: a 3-round D+ alone takes 10 minutes
#   make bench-data             install the tools and build the data set only

BENCH_DIR          := tests/benchmarks
BENCH_APT_PACKAGES := libvips-tools imagemagick mate-backgrounds plasma-workspace-wallpapers \
	libraw-bin darktable
BENCH_RUNS         ?=
BENCH_QUICK        ?=
BENCH_SCENARIOS    ?= A,B,C,D,E,F,H,R,P,U,Q

.PHONY: bench bench-data bench-deps

bench-deps:
	$(call apt_install,$(BENCH_APT_PACKAGES))

# build_data.py keeps a stamp of its parameters and rebuilds only when they change.
bench-data: bench-deps $(STAMP)
	$(PY) $(BENCH_DIR)/build_data.py

bench: bench-data
	$(PY) $(BENCH_DIR)/run_bench.py --scenarios $(BENCH_SCENARIOS) \
		$(if $(filter-out 0,$(BENCH_QUICK)),--quick) $(if $(BENCH_RUNS),--runs $(BENCH_RUNS))
