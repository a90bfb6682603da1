# ChannelGateway — `make run` and `make test` are all you need (see README.md).
SWIFT ?= swift
CONFIG ?= gateway.yaml

.PHONY: run test bench build release bootstrap check-config clean tl

bootstrap:
	@scripts/bootstrap.sh

build: bootstrap
	$(SWIFT) build

# Starts the gateway on gateway.yaml (SQLite under ./data, port 3000 unless PORT is set).
run: build
	.build/debug/gateway serve --config $(CONFIG)

# Builds everything (plugins included) once, then runs the Swift suites (the gateway's and the
# MTProto package's), the suites that drive a live gateway with independent clients (requests,
# python-socketio, schemathesis) — the REST suite a second time on PostgreSQL (a throwaway
# server from Debian's packages, see Tests/support/postgres_server.py) —, the hub in cluster mode (three
# gateways sharing a redis-server, Tests/hub_cluster), RabbitMQ publishing (a throwaway rabbitmq-server
# and a pika consumer, Tests/rabbitmq), Telethon against the fake Telegram data center
# (plugins/telegram's fake-dc), the operator console in headless Chromium, scale-out (three gateways
# on one PostgreSQL, Redis and RabbitMQ: account leases, forwarding, takeover; Tests/scale), and a
# minute of libFuzzer on the MTProto decoders.
test: bootstrap
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build
	$(SWIFT) build --build-tests --package-path plugins/telegram
	$(SWIFT) test --skip-build --package-path plugins/telegram
	$(SWIFT) build --build-tests --package-path plugins/email
	$(SWIFT) test --skip-build --package-path plugins/email
	GATEWAY_BIN=$$($(SWIFT) build --show-bin-path)/gateway python3 -m pytest Tests/api Tests/hub -q
	GATEWAY_BIN=$$($(SWIFT) build --show-bin-path)/gateway python3 -m pytest Tests/hub_cluster -q
	GATEWAY_BIN=$$($(SWIFT) build --show-bin-path)/gateway python3 -m pytest Tests/rabbitmq -q
	GATEWAY_TEST_STORE=postgres GATEWAY_BIN=$$($(SWIFT) build --show-bin-path)/gateway python3 -m pytest Tests/api -q
	FAKE_DC_BIN=$$($(SWIFT) build --package-path plugins/telegram --show-bin-path)/fake-dc python3 -m pytest Tests/telegram -q
	GATEWAY_BIN=$$($(SWIFT) build --show-bin-path)/gateway python3 -m pytest Tests/email -q
	GATEWAY_BIN=$$($(SWIFT) build --show-bin-path)/gateway FAKE_DC_BIN=$$($(SWIFT) build --package-path plugins/telegram --show-bin-path)/fake-dc python3 -m pytest Tests/console -q
	GATEWAY_BIN=$$($(SWIFT) build --show-bin-path)/gateway FAKE_DC_BIN=$$($(SWIFT) build --package-path plugins/telegram --show-bin-path)/fake-dc python3 -m pytest Tests/scale -q
	scripts/fuzz.sh 60
	scripts/fuzz-email.sh 30

release: bootstrap
	$(SWIFT) build -c release

# Benchmarks record their figures in docs/BENCHMARKS.md (release build).
bench: release
	.build/release/gateway-bench --output docs/BENCHMARKS.md
	python3 Benchmarks/hub/hub_bench.py --gateway .build/release/gateway --output docs/BENCHMARKS.md
	python3 Benchmarks/hub/cluster_bench.py --gateway .build/release/gateway --output docs/BENCHMARKS.md
	$(SWIFT) build -c release --product fake-dc && python3 Benchmarks/telegram/telegram_bench.py --gateway .build/release/gateway --fake-dc .build/release/fake-dc --output docs/BENCHMARKS.md

# Telegram's TL schema (layer 201) from the kurigram 2.2.0 sdist on PyPI, hash-checked, then the
# generated Swift types (committed) regenerated from it.
tl:
	scripts/fetch-tl-schema.sh
	scripts/generate-tl.sh

check-config: build
	.build/debug/gateway check-config $(CONFIG)

clean:
	rm -rf .build data
