# orlink — the two commands a newcomer needs are `make demo` and `make test` (see README.md).
SHELL := /bin/bash
DEBIAN_PKGS := influxdb influxdb-client mosquitto mosquitto-clients socat python3-hl7 openssl jq prometheus
NODE_MODULES_STAMP := node_modules/.package-lock.json

.PHONY: demo test typecheck lint format unit deps system-deps bench faults soak fuzz clean

# Debian packages the demo and the tests start themselves (none of them runs as a service).
system-deps:
	@missing=""; \
	for bin in influxd:influxdb mosquitto:mosquitto socat:socat openssl:openssl jq:jq promtool:prometheus; do \
	  command -v $${bin%%:*} >/dev/null 2>&1 || missing="$$missing $${bin##*:}"; \
	done; \
	/usr/bin/python3 -c 'import hl7' >/dev/null 2>&1 || missing="$$missing python3-hl7"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing Debian packages:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(DEBIAN_PKGS) >/dev/null; \
	  else \
	    echo "missing Debian packages:$$missing — run: sudo apt-get install -y $(DEBIAN_PKGS)"; exit 1; \
	  fi; \
	fi

$(NODE_MODULES_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $(NODE_MODULES_STAMP)

deps: system-deps $(NODE_MODULES_STAMP)

demo: deps
	node bin/orlink.js demo

# formatting: prettier (.prettierrc.json) over every TypeScript file; `make format` rewrites, `make lint` checks
lint: $(NODE_MODULES_STAMP)
	node_modules/.bin/prettier --check --log-level warn "**/*.ts"

format: $(NODE_MODULES_STAMP)
	node_modules/.bin/prettier --write --log-level warn "**/*.ts"

typecheck: $(NODE_MODULES_STAMP)
	npx tsc --noEmit -p tsconfig.json

unit: $(NODE_MODULES_STAMP)
	scripts/run-tests.sh

test: deps typecheck lint unit

bench: deps
	node bin/orlink.js bench

# Long versions of the fault scenarios (test/faults; `make test` runs the short ones). docs/reliability.md
faults: deps
	ORLINK_FAULTS=long scripts/run-tests.sh --timeout=1800 test/faults/*.test.ts

# One hour at a 50-bed load with periodic faults; JSON report in bench/results/ (SOAK_ARGS to change).
soak: deps
	node --max-old-space-size=12288 --import=tsx bench/soak.ts $(SOAK_ARGS)

# Mutation fuzzer (test/fuzz/README.md): 1,000,000 cases per protocol, at most an hour; JSON report in
# bench/results/fuzz-<time>.json, failing inputs in test/fuzz/crashers/ (FUZZ_ARGS, e.g. "--cases 100000 --only nonin").
fuzz: $(NODE_MODULES_STAMP)
	node --expose-gc --import=tsx test/fuzz/run.ts $(FUZZ_ARGS)

clean:
	rm -rf .data .tap
