# Entry points, each installs what it needs into a venv (.venv) first:
#   make demo   the main job on the built-in synthetic EPIC dataset: generate ->
#               build lists -> clean -> check clips -> train X3D-S -> test
#               (3 clips per segment, averaged); it is make demo-data (up to
#               the clip check), then make demo-train (training and test)
#   make demo-clips  the whole-video (UCF50/HRI30-style) path on synthetic
#               clips: generate -> class-folder lists -> clean -> train the
#               ResNet+LSTM recipe, scaled down -> test --dump -> analysis and
#               training curves
#   make test   the test suite (make test-fast: without the slow tests)
#   make gpu-check  a GPU node's acceptance run (docs/gpu_check.md): every EPIC
#               config trains and tests, throughput against the GPU-only
#               ceiling, decoding; ARGS=--tiny runs the same steps on CPU
# TORCH picks the torch build: plain `torch` from PyPI is the CUDA build;
# CPU-only machines (and CI) use e.g. TORCH='torch==2.13.0' (a CPU wheel there).
PYTHON ?= python3
VENV ?= .venv
TORCH ?= torch
PYTEST_ARGS ?=
ARGS ?=
# make test: one worker per core. Since the tests fork the tools from a
# process that has the stack imported (tests/toolrun.py), a third worker on 2
# cores no longer fills waits: pytest took 712 s with 2 workers and 710 s
# with 3 (the same code, back to back), and with 2 each test gets more of the
# cores (the slowest, the demo's training, 77 s instead of 123 s). Earlier,
# with fresh interpreters, 3 had been faster (1008 vs 1117 s).
TEST_WORKERS ?= $(shell $(PYTHON) -c "import os; print(len(os.sched_getaffinity(0)) \
	if hasattr(os, 'sched_getaffinity') else os.cpu_count() or 1)")
FAST_TEST_WORKERS ?= auto
DEMO_DIR ?= data/synthetic_epic
DEMO_LISTS ?= data_lists/synthetic_epic
DEMO_WORK ?= work_dirs/demo_x3d_s
DEMO_CONFIG ?= configs/demo/x3d_s_1xb16-4x6x1-5e_synthetic-epic100-rgb-verbnoun.py
WORKERS ?= 2
# CPU threads for the demos' training processes: one, waiting passively
# (OMP_WAIT_POLICY=PASSIVE below). The tiny X3D-S steps are many small ops:
# on 2 cores one thread took 0.22 s an iteration, 2 passive ones 0.28 s
# (their wake-ups cost more than the second core gives) and 2 spinning ones
# 0.24 s idle but several times longer when another job shares the cores;
# make demo-clips took 42.6 s with one thread, 40.7 s with two.
DEMO_THREADS ?= 1
CLIPS_DIR ?= data/synthetic_ucf/videos
CLIPS_LISTS ?= data_lists/synthetic_ucf
CLIPS_WORK ?= work_dirs/demo_r18_lstm_clips
CLIPS_CONFIG ?= configs/demo/r18_lstm_1xb8-u4-16e_synthetic-ucf50-rgb.py
PY := $(VENV)/bin/python
SPLITS := train val test

.PHONY: venv demo demo-data demo-train demo-clips test test-fast gpu-check clean-demo

$(VENV)/.installed: setup.py
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet "$(TORCH)"
	$(PY) -m pip install --quiet -e ".[tests]"
	touch $@

venv: $(VENV)/.installed

# make demo = make demo-data, then make demo-train (the same commands: the two
# canned recipes below). demo-train alone retrains on the data already there,
# e.g. after editing DEMO_CONFIG, and replaces the last run's results
# (--force). The demo's videos have a keyframe every 32 frames (--gop 32; the
# generator's default is 250, as in camera footage): a clip then decodes from
# a keyframe at most 31 frames before it, 2.0 ms a clip instead of 4.8 ms;
# seeking in long GOPs is what the frame-exact tests check.
define demo_data_steps
$(PY) tools/make_synthetic_epic.py $(DEMO_DIR) --workers $(WORKERS) \
	--videos 10 3 2 --duration 60 --size 96x96 --object-scale 0.35 \
	--move-speed 1.8 --gop 32 --reproducible
$(PY) tools/build_annotations.py $(DEMO_DIR) --data-root $(DEMO_DIR)/videos \
	--out-dir $(DEMO_LISTS)
for split in $(SPLITS); do \
	$(PY) tools/clean_segments.py $(DEMO_LISTS)/epic100_$$split.txt \
		--data-root $(DEMO_DIR)/videos --workers $(WORKERS) \
		--out $(DEMO_LISTS)/epic100_$${split}_clean.txt \
		--report $(DEMO_LISTS)/epic100_$${split}_clean.report.json || exit 1; \
done
EPIC_VIDEOS=$(DEMO_DIR)/videos EPIC_LISTS=$(DEMO_LISTS) \
	$(PY) tools/check_clips.py configs/_base_/datasets/synthetic_epic_segments.py \
	--split $(SPLITS) --truth $(DEMO_DIR)/synthetic_truth.json
endef

define demo_train_steps
EPIC_VIDEOS=$(DEMO_DIR)/videos EPIC_LISTS=$(DEMO_LISTS) OMP_NUM_THREADS=$(DEMO_THREADS) \
	OMP_WAIT_POLICY=PASSIVE $(PY) tools/train.py $(DEMO_CONFIG) --work-dir $(DEMO_WORK)
EPIC_VIDEOS=$(DEMO_DIR)/videos EPIC_LISTS=$(DEMO_LISTS) OMP_WAIT_POLICY=PASSIVE \
	$(PY) tools/test.py $(DEMO_CONFIG) $$(cat $(DEMO_WORK)/last_checkpoint) \
	--work-dir $(DEMO_WORK) --dump $(DEMO_WORK)/val_results.npz --force --tta
endef

demo: venv
	$(demo_data_steps)
	$(demo_train_steps)

demo-data: venv
	$(demo_data_steps)

demo-train: venv
	$(demo_train_steps)

demo-clips: venv
	$(PY) tools/make_synthetic_clips.py $(CLIPS_DIR) --classes 3 --groups 4 --clips 4 \
		--frames 32 --size 96x96
	$(PY) tools/build_annotations.py $(CLIPS_DIR) --format class-folders --prefix ucf50 \
		--group-pattern '' --split-ratios 0.6 0.4 0 --out-dir $(CLIPS_LISTS)
	for split in train val; do \
		$(PY) tools/clean_segments.py $(CLIPS_LISTS)/ucf50_$$split.txt \
			--data-root $(CLIPS_DIR) --workers $(WORKERS) \
			--out $(CLIPS_LISTS)/ucf50_$${split}_clean.txt \
			--report $(CLIPS_LISTS)/ucf50_$${split}_clean.report.json || exit 1; \
	done
	UCF50_VIDEOS=$(CLIPS_DIR) UCF50_LISTS=$(CLIPS_LISTS) OMP_NUM_THREADS=$(DEMO_THREADS) \
		OMP_WAIT_POLICY=PASSIVE $(PY) tools/train.py $(CLIPS_CONFIG) --work-dir $(CLIPS_WORK)
	UCF50_VIDEOS=$(CLIPS_DIR) UCF50_LISTS=$(CLIPS_LISTS) OMP_WAIT_POLICY=PASSIVE \
		$(PY) tools/test.py $(CLIPS_CONFIG) $$(ls $(CLIPS_WORK)/best_acc_top1_epoch_*.pth) \
		--work-dir $(CLIPS_WORK) --dump $(CLIPS_WORK)/val_results.npz
	$(PY) tools/analyze_results.py $(CLIPS_WORK)/val_results.npz \
		--classes $(CLIPS_LISTS)/ucf50_classes.txt --out-dir $(CLIPS_WORK)/analysis
	$(PY) tools/plot_curves.py $(CLIPS_WORK)

# the suite runs on every core (pytest-xdist); each xdist_group (tests that
# share an expensive fixture) runs in one worker. TEST_WORKERS=0: one process
test: venv
	$(PY) -m pytest -rs --durations=25 -n $(TEST_WORKERS) --dist loadgroup $(PYTEST_ARGS)

# the inner loop: unit and component tests, no training runs, no SLURM
test-fast: venv
	$(PY) -m pytest -q -m "not slow" -n $(FAST_TEST_WORKERS) --dist loadgroup --durations=10 \
		--ignore=tests/slurm $(PYTEST_ARGS)

# report in work_dirs/gpu_check/ (report.md, report.json); e.g. ARGS='--tiny',
# ARGS='--steps train --configs configs/x3d/...'
gpu-check: venv
	$(PY) tools/gpu_check.py $(ARGS)

clean-demo:
	rm -rf $(DEMO_DIR) $(DEMO_LISTS) $(DEMO_WORK) $(CLIPS_DIR) $(CLIPS_LISTS) $(CLIPS_WORK)
