# `make dist`: adopipe's wheels and release archives in dist/.
#
# scripts/dist builds a static adopipe (CGO_ENABLED=0, version and commit
# stamped by the go command from git) for each platform, wraps them into
# platform wheels with gowheels, checks them with `twine check --strict`,
# and packs release archives with SHA256SUMS. The metadata comes from
# packaging/project.mk; gowheels and twine are pinned in
# $(DIST_REQUIREMENTS) and live in their own virtualenv, made by the .venv's
# uv so it takes seconds.
#
# Windows builds (local Ray clusters are Unix-only there: adopipe says so).

include packaging/project.mk
export PROJECT_NAME PROJECT_SUMMARY PROJECT_LICENSE PROJECT_LICENSE_FILE PROJECT_README PROJECT_URL PROJECT_GO_PACKAGE

DIST_DIR          ?= dist
DIST_PLATFORMS    ?= linux/amd64 linux/arm64 darwin/amd64 darwin/arm64 windows/amd64
DIST_REQUIREMENTS := python/dist-requirements.txt
export DIST_VENV  := $(CURDIR)/.cache/dist-venv
DIST_STAMP        := $(DIST_VENV)/.stamp
# The linux x86_64 wheels the tests install (make test).
DIST_TEST_DIR     := .cache/dist-test

.PHONY: dist dist-test dist-venv
dist: dist-venv
	GO=$(GO) scripts/dist --archives $(DIST_DIR) $(DIST_PLATFORMS)

dist-test: dist-venv
	GO=$(GO) scripts/dist $(DIST_TEST_DIR) linux/amd64

dist-venv: $(DIST_STAMP)
$(DIST_STAMP): $(DIST_REQUIREMENTS) | $(VENV_STAMP)
	rm -rf $(DIST_VENV)
	$(VENV_DIR)/bin/uv venv --quiet --python $(VENV_DIR)/bin/python $(DIST_VENV)
	$(VENV_DIR)/bin/uv pip install --quiet --python $(DIST_VENV)/bin/python -r $(DIST_REQUIREMENTS)
	@touch $@
