# The two commands: `make run` and `make test` (plus `make bench`). Each sets itself up.
.PHONY: run test bench lint venv

venv:
	@bash scripts/bootstrap.sh

run: venv
	@.venv/bin/chumnuoy run

test:
	@bash scripts/test.sh

bench: venv
	@bash scripts/bench.sh

lint: venv
	@.venv/bin/ruff check .
