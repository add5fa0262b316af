# Reliability runs for issue 6 (fault injection, torture corpus, fuzzing).
# Included from the top Makefile (after VENV, PY and STAMP are defined):
#     include tests/torture/torture.mk
#
#   make torture                      50 trials each of SIGKILL and cancel, TORTURE_RESUME (30)
#                                     of SIGKILL to the CLI's process group + --resume
#                                     (crash-resume), TORTURE_OTHER of every other fault;
#                                     prints the table; exit 1 on any invariant violation
#   make torture TORTURE_FAULTS=kill,hang TORTURE_TRIALS=10
#   make torture TORTURE_FAULTS=crash-resume              the 30 crash-resume trials alone
#   make fuzz                         atheris over convert_one for FUZZ_SECONDS (300)
#   make fuzz FUZZ_SECONDS=3600

TORTURE_TRIALS ?= 50
TORTURE_OTHER ?= 10
TORTURE_RESUME ?= 30
TORTURE_FAULTS ?=
TORTURE_SEED ?=
TORTURE_JSON ?= /tmp/pixmill-torture-last.json
FUZZ_SECONDS ?= 300
FUZZ_WORK ?= /tmp/pixmill-fuzz

.PHONY: torture fuzz fuzz-replay

torture: $(STAMP)
	$(PY) tests/torture/torture.py --trials $(TORTURE_TRIALS) --other-trials $(TORTURE_OTHER) \
		--resume-trials $(TORTURE_RESUME) \
		$(if $(TORTURE_FAULTS),--faults $(TORTURE_FAULTS)) \
		$(if $(TORTURE_SEED),--seed $(TORTURE_SEED)) --json $(TORTURE_JSON)

fuzz: $(STAMP)
	$(PY) -m pip install -q atheris
	$(PY) tests/fuzz/fuzz_convert.py --seconds $(FUZZ_SECONDS) --work $(FUZZ_WORK)

fuzz-replay: $(STAMP)
	$(PY) -m pytest -q tests/fuzz
