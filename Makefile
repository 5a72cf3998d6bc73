include mk/venv.mk
