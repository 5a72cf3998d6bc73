# `make venv`: the project-local Python environment at $(VENV_DIR).
#
# It holds ray (for the local Ray head and the real test tier), build (for
# wheels) and ado-core, pinned in $(VENV_REQUIREMENTS). A stamp file makes a
# second `make venv` a no-op until the requirements change.

VENV_PYTHON       ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV_DIR          ?= .venv
VENV_REQUIREMENTS ?= python/requirements.txt
VENV_STAMP        := $(VENV_DIR)/.stamp

.PHONY: venv
venv: $(VENV_STAMP)

$(VENV_STAMP): $(VENV_REQUIREMENTS)
	@$(VENV_PYTHON) -c 'import sys; v = sys.version_info[:2]; sys.exit(0 if (3, 11) <= v < (3, 15) else "venv: need Python >=3.11,<3.15 for ado-core, got %d.%d (set VENV_PYTHON)" % v)'
	test -x $(VENV_DIR)/bin/python || $(VENV_PYTHON) -m venv $(VENV_DIR)
	$(VENV_DIR)/bin/python -m pip install --quiet --upgrade pip
	$(VENV_DIR)/bin/python -m pip install --quiet -r $(VENV_REQUIREMENTS)
	@touch $@
