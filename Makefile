# The two commands: `make run` and `make test` (plus `make bench`). Each sets itself up.
.PHONY: run run-prod test bench lint venv

venv:
	@bash scripts/bootstrap.sh

run: venv
	@.venv/bin/chumnuoy run

# The production-shaped set: PostgreSQL + Redis (scripts/services.sh, ports 55532/56479, data in
# var/production), gunicorn with 4 workers, 2 worker processes; Ctrl-C stops all.
run-prod: venv
	@.venv/bin/chumnuoy run --production

test:
	@bash scripts/test.sh

bench: venv
	@bash scripts/bench.sh

lint: venv
	@.venv/bin/ruff check .
