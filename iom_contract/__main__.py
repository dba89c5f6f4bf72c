"""``python -m iom_contract [FOLDER]``: write the contract documents (default ``docs/contract``)."""

import sys
from pathlib import Path

from iom_contract._documents import write_contract_documents

for path in write_contract_documents(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/contract")):
    print(path)
