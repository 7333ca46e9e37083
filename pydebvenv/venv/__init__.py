"""venv"""
