# wagewatch — build, local stack, tests.
#
#   make build          a linux/arm64 bootstrap per function: build/<name>/bootstrap
#   make test           install + start the local stack, go test ./..., stop it
#   make bench          benchmarks
#   make demo           the example scenario end to end, alerts and deliveries
#   make scenario DIR=… / make scenario-check DIR=…   (ARGS="--keep --as-of …")
#   make stack-install | stack-start | stack-stop | stack-status
#   make tools          aws-lambda-rie into .local/bin (for the RIE smoke test)
#   sam build           runs the build-<LogicalId> targets below

SHELL := /bin/bash
GO ?= go
TEST_TIMEOUT ?= 30m
LOCAL_BIN := $(CURDIR)/.local/bin
RIE_VERSION := v0.0.0-20261030222936-bef5c4ba774d
LAMBDA_ENV := GOOS=linux GOARCH=arm64 CGO_ENABLED=0
LAMBDA_FLAGS := -tags lambda.norpc -trimpath -ldflags='-s -w'

# Logical ID in template.yaml : folder under functions/. The template test
# checks that this list and the template agree.
SAM_FUNCTIONS := \
	IngestFeedFunction:ingest-feed \
	RecordEntriesFunction:record-entries \
	ImportRegistryFunction:import-registry \
	IngestAttendanceFunction:ingest-attendance \
	AttendanceApiFunction:attendance-api \
	RecordAttendanceFunction:record-attendance \
	ScanFunction:scan \
	EvaluateFunction:evaluate \
	NotifyFunction:notify \
	EscalateFunction:escalate \
	DeptApiFunction:dept-api

FUNCTIONS := $(foreach p,$(SAM_FUNCTIONS),$(word 2,$(subst :, ,$(p))))

.PHONY: build test bench tools stack-install stack-start stack-stop stack-status demo scenario scenario-check clean FORCE

build: $(FUNCTIONS:%=build/%/bootstrap)
	@echo "built $(words $(FUNCTIONS)) functions into build/<name>/bootstrap (linux/arm64)"

build/%/bootstrap: FORCE
	@mkdir -p build && [[ -f build/.gitignore ]] || echo '*' > build/.gitignore
	$(LAMBDA_ENV) $(GO) build $(LAMBDA_FLAGS) -o $@ ./functions/$*

# sam build (BuildMethod: makefile) calls build-<LogicalId> with ARTIFACTS_DIR.
define sam_target
.PHONY: build-$(1)
build-$(1):
	$(LAMBDA_ENV) $(GO) build $(LAMBDA_FLAGS) -o $$(ARTIFACTS_DIR)/bootstrap ./functions/$(2)
endef
$(foreach p,$(SAM_FUNCTIONS),$(eval $(call sam_target,$(word 1,$(subst :, ,$(p))),$(word 2,$(subst :, ,$(p))))))

tools: $(LOCAL_BIN)/aws-lambda-rie

$(LOCAL_BIN)/aws-lambda-rie:
	@mkdir -p $(LOCAL_BIN)
	GOBIN=$(LOCAL_BIN) $(GO) install github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie@$(RIE_VERSION)

stack-install:
	infra/stack.sh install

stack-start: stack-install
	infra/stack.sh start

stack-stop:
	infra/stack.sh stop

stack-status:
	infra/stack.sh status

# The stack is stopped whatever the tests did; the exit code is theirs (or
# the start's, when the stack did not start).
test: stack-install tools
	@rc=0; \
	{ infra/stack.sh start && $(GO) test -count=1 -timeout $(TEST_TIMEOUT) ./...; } || rc=$$?; \
	infra/stack.sh stop; \
	exit $$rc

# The city benchmark runs on the disk-backed DynamoDB emulator, whose cost per
# write does not grow with the tables (infra/stack.sh, WW_DDB_STORAGE).
bench: export WW_DDB_STORAGE ?= disk
bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...

# make demo: the example scenario end to end on the local stack, with the
# webhook receiver and SMS sink printing what the departments got.
demo: stack-start
	infra/demo.sh

# make scenario DIR=path [ARGS="--keep --as-of …"]; make scenario-check DIR=path
scenario scenario-check: stack-start
	@[[ -n "$(DIR)" ]] || { echo "usage: make $@ DIR=path [ARGS='--keep --as-of RFC3339']"; exit 2; }
	@mkdir -p .local/bin && $(GO) build -o .local/bin/wagewatch ./cmd/wagewatch
	.local/bin/wagewatch $(if $(filter scenario-check,$@),scenario check,scenario run) $(abspath $(DIR)) $(ARGS)

clean:
	rm -rf build
