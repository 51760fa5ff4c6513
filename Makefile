# Two entry points: `make demo` (the main job) and `make test`.
PYTHON ?= python3.11
VENV ?= .venv
PY := $(VENV)/bin/python
DEMO_DIR ?= runs/demo
# a short ConvDRAW run on Omniglot: half-size model (32 maps, 8 steps), 150 updates
DEMO_ARGS ?= --num_recurrent_maps 32 --num_steps 8 --num_train_samples 4800 --val_freq 1600 \
             --log_every 10 --hist_every 50

# Converted datasets go where every command run by hand looks for them too:
# $DRAW_DATA_DIR if set, else ~/.mxnet/datasets/draw (draw.config.default_data_dir).
# A local copy of the original dataset files beside the project is used when present;
# otherwise the converters download them from the official URLs.
ifneq ($(wildcard ../shared/data),)
export DRAW_DATA_SOURCE ?= $(abspath ../shared/data)
endif

.PHONY: demo test test-gpu-install install assets clean

$(VENV)/.installed: setup.py
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "error: $(PYTHON) not found: install Python 3.11 or pass PYTHON=python3.X (3.8-3.11 work)" >&2; exit 1; }
	rm -rf $(VENV)
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[cpu,test]'
	touch $@

install: $(VENV)/.installed

demo: $(VENV)/.installed
	$(PY) data/convert_omniglot.py
	rm -rf $(DEMO_DIR)
	$(PY) examples/train_omniglot.py $(DEMO_ARGS) --logdir $(DEMO_DIR)
	$(PY) examples/sample.py $(DEMO_DIR) --out $(DEMO_DIR)/samples --seed 1
	$(PY) examples/figures.py $(DEMO_DIR) --out $(DEMO_DIR)/figures --no_progress
	@echo "demo done: $(DEMO_DIR)/samples.png, $(DEMO_DIR)/samples.gif, the papers' figures in $(DEMO_DIR)/figures; curves: $(VENV)/bin/tensorboard --logdir runs"

test: $(VENV)/.installed
	$(PY) -m pytest -q -ra

# The pictures in the README and docs/, rebuilt from the committed pretrained weights
# (after new weights land): the samples in assets/, and per model the figures in
# assets/figures/ as <weights>_<file> (the tools convert the datasets they need on first
# use). On another machine only last digits (float32 rounding) may differ; `git status
# assets` shows what changed.
ASSETS_TMP ?= runs/assets
ASSET_MODELS := draw_mnist draw_mnist_noattn convdraw_drawers draw_cluttered_8
FIGURES_draw_mnist := filterbank.png generation.png kl_per_step.png \
                      nearest_training.png nearest_training.csv reading.png reading.gif
FIGURES_draw_mnist_noattn := generation.png
FIGURES_convdraw_drawers := codec.png codec.csv codec_grid.png compression.png generation.png \
                            kl_per_step.png rate_distortion.png
FIGURES_draw_cluttered_8 := glimpses.png glimpses.gif zoom.png
# and the classifier's search over the whole test split (the recipe's last lines)

assets: $(VENV)/.installed
	rm -rf $(ASSETS_TMP)
	$(PY) examples/sample.py convdraw_drawers -n 64 --seed 1 --out assets --prefix convdraw_drawers_samples
	$(PY) examples/sample.py draw_mnist -n 64 --seed 1 --out assets --prefix draw_mnist_samples --no_gif
	$(PY) examples/sample.py draw_mnist -n 16 --seed 1 --out $(ASSETS_TMP) --prefix draw_mnist_canvas
	cp $(ASSETS_TMP)/draw_mnist_canvas.gif assets/
	$(foreach m,$(ASSET_MODELS),$(PY) examples/figures.py $(m) --out $(ASSETS_TMP)/$(m) --no_progress || exit 1; \
	  for f in $(FIGURES_$(m)); do cp $(ASSETS_TMP)/$(m)/$$f assets/figures/$(m)_$$f || exit 1; done;)
	$(PY) examples/figures.py draw_cluttered_8 --figure search --num_images 10000 \
	  --out $(ASSETS_TMP)/search --no_progress
	cp $(ASSETS_TMP)/search/search.png assets/figures/draw_cluttered_8_search.png
	cp $(ASSETS_TMP)/search/search.json assets/figures/draw_cluttered_8_search.json
	@echo "assets rebuilt from the pretrained weights: git status assets"

# the GPU extra in a fresh virtualenv on this machine (installs about 4 GB; no GPU needed)
test-gpu-install: $(VENV)/.installed
	$(PY) -m pytest -m gpu_install -s tests/test_gpu_install.py

clean:
	rm -rf $(VENV) runs *.egg-info
