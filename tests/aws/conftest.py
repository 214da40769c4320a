import sys
from pathlib import Path

# Make tests/aws/aws_bundle.py importable from the tests in this folder.
sys.path.insert(0, str(Path(__file__).resolve().parent))
