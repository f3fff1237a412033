# The commands a newcomer needs: `make test` (and, once the operator runs, `make run`).
DOTNET      ?= dotnet
RESULTS     ?= TestResults
SOLUTION    := IpvsOperator.slnx
OPERATOR    := src/IpvsOperator/IpvsOperator.csproj
NODE_AGENT  := src/IpvsOperator.NodeAgent/IpvsOperator.NodeAgent.csproj
BENCHMARKS  := benchmarks/IpvsOperator.Benchmarks/IpvsOperator.Benchmarks.csproj
## Every test project's assembly (tests/IpvsOperator.X.Tests tests src/IpvsOperator.X), run together into one TRX file.
TEST_DLLS    = $(foreach p,$(notdir $(wildcard tests/*.Tests)),tests/$(p)/bin/Debug/net10.0/$(p).dll)
BENCH       ?= *

export DOTNET_CLI_TELEMETRY_OPTOUT=1
export DOTNET_NOLOGO=1

VM_DIR      ?= $(CURDIR)/.vm

.PHONY: run build test test-kernel generate bench bench-kernel bench-node docker-build publish aot-floor node-aot docs clean kubectl-plugin

## The operator with no cluster: LocalCluster, the controller, its webhooks, a node agent and the samples. Ctrl-C stops.
## Flags go in ARGS: make run ARGS='--dataplane kernel'   (ipvs-operator help local lists them)
ARGS ?=
## The build shows each project as it goes (the terminal logger, in a terminal); the operator then starts
## from the built assembly: `dotnet run` would evaluate the project a second time (about 6 s).
run:
	@echo "make run: restoring packages (the first time: a minute or two)"
	@$(DOTNET) restore $(OPERATOR) --nologo -v quiet
	@echo "make run: building the operator"
	@$(DOTNET) build $(OPERATOR) --no-restore --nologo -v minimal -tl:auto
	@$(DOTNET) $(dir $(OPERATOR))bin/Debug/net10.0/ipvs-operator.dll local $(ARGS)

build:
	$(DOTNET) build $(SOLUTION)

## `kubectl ipvs status|why svc/NAME` and `kubectl ipvs pools`: builds the operator and puts a `kubectl-ipvs`
## that runs its `inspect` verb into PLUGIN_DIR (on your PATH; kubectl finds plugins there).
PLUGIN_DIR ?= $(HOME)/.local/bin
kubectl-plugin:
	$(DOTNET) build $(OPERATOR) --nologo -v minimal
	mkdir -p $(PLUGIN_DIR)
	printf '#!/bin/sh\nexec %s %s inspect "$$@"\n' '$(shell command -v $(DOTNET))' '$(CURDIR)/$(dir $(OPERATOR))bin/Debug/net10.0/ipvs-operator.dll' > $(PLUGIN_DIR)/kubectl-ipvs
	chmod 755 $(PLUGIN_DIR)/kubectl-ipvs
	@echo "installed $(PLUGIN_DIR)/kubectl-ipvs; try: kubectl ipvs pools"

## Host tests: everything but the category Kernel, which needs the IPVS kernel VM (make test-kernel).
## First installs what the tests run (nftables, busybox, FRR, BIRD, promtool, Graphviz: tools/provision.sh)
## when run as root with apt-get; otherwise one line names what is missing and which tests skip.
## A test that hangs is ended after 15 minutes and named (--blame-hang), instead of holding CI to its limit.
## TEST_CONSOLE=normal prints every test as it ends (.ci/run does, to show how far a suite is).
TEST_CONSOLE ?= minimal
## The test assemblies run side by side, one test host each and as many at once as cores (--Parallel), in one
## vstest run (one host.trx): much of the suite waits on FRR, BIRD and timers, so two at a time cut its wall time.
## Tests that must not overlap share an assembly (the network namespace tests are all in Dataplane.Tests).
test:
	bash tools/provision.sh host
	$(DOTNET) build $(SOLUTION) --nologo -v minimal
	$(DOTNET) vstest $(TEST_DLLS) --Parallel --TestCaseFilter:"TestCategory!=Kernel" \
	  --Blame:"CollectHangDump;TestTimeout=15m;HangDumpType=None" \
	  --logger:"console;verbosity=$(TEST_CONSOLE)" \
	  --logger:"trx;LogFileName=host.trx" --ResultsDirectory:$(RESULTS)

## The category Kernel inside a VM running Debian's kernel (real IPVS, dummy links); results in $(RESULTS)/kernel.trx.
## KERNEL_FILTER narrows it (a dotnet test filter, e.g. KERNEL_FILTER=FullyQualifiedName~Layer2).
## The agents the fixtures start as processes are the Native AOT build the image ships (make node-aot,
## needs clang and zlib1g-dev); AGENT=jit starts `dotnet ipvs-operator.dll node` instead, a quicker build.
AGENT       ?= aot
test-kernel:
	$(DOTNET) build $(SOLUTION) --nologo -v minimal
	case '$(AGENT)' in aot) $(MAKE) node-aot ;; jit) ;; *) echo "AGENT=$(AGENT): valid are aot and jit" >&2; exit 2 ;; esac
	bash tools/kernel-vm/setup.sh $(VM_DIR)
	rm -f $(VM_DIR)/out/kernel.trx
	printf '%s' '$(KERNEL_FILTER)' > $(VM_DIR)/filter
	printf '%s' '$(AGENT)' > $(VM_DIR)/agent
	printf '%s' '$(TEST_CONSOLE)' > $(VM_DIR)/console
	bash tools/kernel-vm/run-vm.sh $(VM_DIR) $(CURDIR)/tools/kernel-vm/kernel-tests.sh; status=$$?; \
	  mkdir -p $(RESULTS); cp $(VM_DIR)/out/kernel.trx $(RESULTS)/kernel.trx 2>/dev/null; exit $$status

## The IPVS programming benchmark in the kernel VM (client versus ipvsadm -R); prints the table.
bench-kernel:
	$(DOTNET) build -c Release $(BENCHMARKS)
	bash tools/kernel-vm/setup.sh $(VM_DIR)
	bash tools/kernel-vm/run-vm.sh $(VM_DIR) $(CURDIR)/tools/kernel-vm/ipvs-bench.sh

## The node agent at scale in the kernel VM (2,000 Services x 3 ports x 5 endpoints); prints the table.
bench-node:
	$(DOTNET) build -c Release $(BENCHMARKS)
	bash tools/kernel-vm/setup.sh $(VM_DIR)
	bash tools/kernel-vm/run-vm.sh $(VM_DIR) $(CURDIR)/tools/kernel-vm/node-bench.sh

## The container image (needs a Docker engine, which this workplace has not).
IMG ?= ipvs-operator:latest
docker-build:
	docker build -t $(IMG) .

## Render the diagrams of docs/ from their Graphviz sources (apt-get install graphviz); a test checks they are current.
docs:
	for source in docs/diagrams/*.dot; do dot -Tsvg "$$source" -o "$${source%.dot}.svg"; done

## What the image holds, built as the Dockerfile builds it (ReadyToRun), into $(PUBLISH).
PUBLISH ?= out/publish
publish:
	$(DOTNET) publish $(OPERATOR) -c Release -r linux-x64 --self-contained false -p:PublishReadyToRun=true -o $(PUBLISH)

## A measurement of issue 21, not a component: the agent's watches alone as a Native AOT program, into out/aot-floor.
## Measured with: dotnet run -c Release --project benchmarks/IpvsOperator.Benchmarks -- footprint --floor out/aot-floor/aot-floor
aot-floor:
	$(DOTNET) publish tools/aot-floor -c Release -r linux-x64 -o out/aot-floor

## The node agent built with Native AOT (issue 21; needs clang and zlib1g-dev), into out/node-aot: its projects
## compiled again against KubernetesClient.Aot (obj/aot, bin/aot; see Directory.Build.props).
## Measured with: dotnet run -c Release --project benchmarks/IpvsOperator.Benchmarks -- footprint --aot-agent out/node-aot/ipvs-operator-node
node-aot:
	bash tools/provision.sh aot
	$(DOTNET) publish $(NODE_AGENT) -c Release -r linux-x64 -p:KubernetesClientFlavor=Aot -o out/node-aot

## Regenerate config/crd, config/rbac, config/webhook and docs/reference/api.md from the code. Must leave a clean tree unchanged.
generate:
	$(DOTNET) run --project $(OPERATOR) -- generate --out config --docs docs/reference

## Benchmarks, e.g. `make bench BENCH='*Allocator*'`. Figures go into docs/benchmarks.md.
bench:
	$(DOTNET) run -c Release --project $(BENCHMARKS) -- --filter '$(BENCH)'

clean:
	$(DOTNET) clean $(SOLUTION)
	rm -rf $(RESULTS) BenchmarkDotNet.Artifacts
