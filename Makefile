# adopipe's entry points. The README's two set-up commands are `make demo`
# and `make test`; everything they need is installed by the targets below.

include mk/venv.mk
include mk/bench.mk
include mk/dist.mk
include mk/lab.mk

GO          ?= go
BIN         := bin/adopipe
ADO_VERSION := $(shell sed -n 's/^ado-core==//p' python/requirements.txt)
ADO_CHECKOUT := .cache/ado-checkout
GO_TEST_FLAGS ?= -timeout 45m

.PHONY: all build test test-unit demo ado-checkout fuzz clean

all: build

# -buildvcs=true: the version and commit in `adopipe --version` (from git),
# even where GOFLAGS says -buildvcs=false.
build:
	$(GO) build -buildvcs=true -o $(BIN) ./cmd/adopipe

# An ado checkout for examples/remote: the ado-core source release holds
# ado and its plugins, like a clone of the repository (which this machine's
# network cannot reach). Made a git repository so setuptools_scm behaves as
# in a real checkout.
ado-checkout: $(ADO_CHECKOUT).stamp
$(ADO_CHECKOUT).stamp: python/requirements.txt | $(VENV_STAMP)
	rm -rf $(ADO_CHECKOUT) .cache/ado-sdist
	$(VENV_DIR)/bin/python -m pip download --quiet --no-deps --no-binary :all: \
		ado-core==$(ADO_VERSION) -d .cache/ado-sdist
	mkdir -p $(ADO_CHECKOUT)
	tar -xzf .cache/ado-sdist/ado_core-$(ADO_VERSION).tar.gz --strip-components=1 -C $(ADO_CHECKOUT)
	cd $(ADO_CHECKOUT) && git init -q && git add -A && \
		git -c user.name=adopipe -c user.email=adopipe@localhost commit -qm "ado-core $(ADO_VERSION)" && \
		git tag v$(ADO_VERSION)
	touch $@

# All tests, including the real tier against a Ray head that
# scripts/with-ray-head starts on 127.0.0.1 and stops by pid, the packaging
# tests on the linux x86_64 wheels of dist-test, and the lab tier
# (internal/raylab/labtest), which starts its own lab.
test: venv ado-checkout dist-test lab-deps test-labmysql
	ADOPIPE_PYTHON=$(CURDIR)/$(VENV_DIR)/bin/python ADOPIPE_TEST_DIST=$(CURDIR)/$(DIST_TEST_DIR) \
		scripts/with-ray-head $(GO) test $(GO_TEST_FLAGS) ./...

# Fast tests only: no Ray, no Python builds.
test-unit:
	$(GO) test -short ./...

# The main job: the quickstart's ado operation, built from source and run
# on a local Ray head that adopipe starts (and keeps for the next run; stop
# it with `bin/adopipe -C examples/quickstart down`). A second run reuses
# the wheel and the job and submits nothing new.
QUICKSTART := examples/quickstart
demo: build venv
	PATH="$(CURDIR)/$(VENV_DIR)/bin:$$PATH" $(BIN) -C $(QUICKSTART) apply --auto-approve --follow
	@echo
	@echo "Results in $(QUICKSTART)/results/quickstart.db (ado show measurements):"
	cd $(QUICKSTART) && PATH="$(CURDIR)/$(VENV_DIR)/bin:$$PATH" \
		ado -c context.yaml show measurements operation --use-latest -o csv 2>/dev/null \
		| $(CURDIR)/$(VENV_DIR)/bin/python show_results.py
	@echo
	@echo "The local Ray head keeps running for the next apply; stop it with:"
	@echo "  $(BIN) -C $(QUICKSTART) down"

# Every fuzz target, each for FUZZTIME. Seed corpora are committed (f.Add
# and testdata/fuzz); a crasher found becomes a regression test there.
FUZZTIME ?= 30s
FUZZ_TARGETS := ./manifest:FuzzLoad ./internal/state:FuzzLoadState \
	./internal/state:FuzzReadPlanFile ./executors/rayjobs:FuzzResponses
fuzz:
	@set -e; for t in $(FUZZ_TARGETS); do \
		pkg=$${t%%:*}; name=$${t##*:}; \
		echo "fuzz $$name ($$pkg) for $(FUZZTIME)"; \
		$(GO) test $$pkg -run '^$$' -fuzz "^$$name\$$" -fuzztime $(FUZZTIME); \
	done

clean:
	rm -rf bin .cache dist
