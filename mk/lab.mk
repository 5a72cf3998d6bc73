# The lab (internal/raylab): a remote-shaped Ray cluster on this machine,
# for the real tier (internal/raylab/labtest) and for trying adopipe as on
# OpenShift (docs/remote.md).
#
#   make lab-deps   installs the Debian packages the lab needs (as root)
#   make lab        builds .cache/lab/raylab and .cache/lab/labmysql
#   make lab-up     starts a lab and waits for Ctrl-C (as root)
#
# The lab needs Linux, root (network and mount namespaces), iproute2 and
# haproxy. Without them its tests skip, except under CI=true, where they
# fail: lab-deps then must install them.

LAB_DIR      := .cache/lab
LAB_RAYLAB   := $(LAB_DIR)/raylab
LAB_MYSQL    := $(LAB_DIR)/labmysql
LAB_PACKAGES := iproute2 haproxy

.PHONY: lab lab-deps lab-up test-labmysql

# apt-get only what is missing. Not root and not CI: say so and go on (the
# lab tests skip); under CI=true a missing package fails the run.
lab-deps:
	@missing=""; \
	command -v ip >/dev/null 2>&1 || missing="$$missing iproute2"; \
	command -v haproxy >/dev/null 2>&1 || missing="$$missing haproxy"; \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "lab-deps: installing$$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	elif [ "$$CI" = true ]; then \
		echo "lab-deps: CI=true and$$missing missing; run as root on Debian/Ubuntu" >&2; exit 1; \
	else \
		echo "lab-deps:$$missing missing (apt-get install$$missing as root); the lab tests will skip"; \
	fi

lab: $(LAB_RAYLAB) $(LAB_MYSQL)

$(LAB_RAYLAB): $(wildcard internal/raylab/*.go internal/raylab/cmd/raylab/*.go)
	$(GO) build -o $@ ./internal/raylab/cmd/raylab

# labmysql is a module of its own (go-mysql-server stays out of adopipe's).
$(LAB_MYSQL): $(wildcard internal/raylab/labmysql/*.go) internal/raylab/labmysql/go.mod internal/raylab/labmysql/go.sum
	cd internal/raylab/labmysql && $(GO) build -o $(CURDIR)/$@ .

# Its own tests: `go test ./...` at the root does not enter nested modules.
test-labmysql:
	cd internal/raylab/labmysql && $(GO) test $(GO_TEST_FLAGS) ./...

lab-up: lab lab-deps venv
	$(LAB_RAYLAB) up -venv $(VENV_DIR) -labmysql $(LAB_MYSQL)
