"""The apps depend on each other one way (contracts: pyproject.toml, [tool.importlinter])."""

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = (
    "lendingsite",
    "backoffice",
    "loans",
    "notifications",
    "wallets",
    "idempotency",
    "ledger",
    "accounts",
)
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def _lint_imports(project: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", "--config", str(project / "pyproject.toml")],
        cwd=project,
        env={"PYTHONPATH": str(project), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
    )


def _copy_of_the_code(tmp_path: Path) -> Path:
    for package in PACKAGES:
        shutil.copytree(
            ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def test_the_code_keeps_its_import_contracts(tmp_path):
    result = _lint_imports(_copy_of_the_code(tmp_path))

    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 kept, 0 broken" in result.stdout


def test_an_import_reaching_up_breaks_the_layers(tmp_path):
    """The contract is not vacuous: the ledger importing the wallets' code is caught."""
    project = _copy_of_the_code(tmp_path)
    with (project / "ledger" / "services.py").open("a") as services:
        services.write("\nfrom wallets.selectors import wallet_account_id  # noqa\n")

    result = _lint_imports(project)

    assert result.returncode == 1
    assert "ledger.services -> wallets.selectors" in result.stdout


def test_the_project_package_naming_an_app_breaks_the_core_contract(tmp_path):
    project = _copy_of_the_code(tmp_path)
    with (project / "lendingsite" / "money.py").open("a") as money:
        money.write(
            "\nimport typing\nif typing.TYPE_CHECKING:\n    from loans.models import Loan\n"
        )

    result = _lint_imports(project)

    assert result.returncode == 1
    assert "lendingsite.money -> loans.models" in result.stdout
