"""The seed workflow's script: a dependency from requirements.txt, configuration from .env,
a result file written to the workspace (exported with --output)."""
import json
import os
import pathlib
import sys

import textstats

# What nsbox sets in every sandbox; everything else came from --env-file .env.
BUILT_IN = {"PATH", "HOME", "USER", "LOGNAME", "LANG", "LC_ALL", "TERM", "XDG_CACHE_HOME",
            "XDG_CONFIG_HOME", "XDG_DATA_HOME", "TMPDIR", "PYTHONDONTWRITEBYTECODE",
            "MPLCONFIGDIR", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
            "NUMEXPR_NUM_THREADS", "REPORT_TITLE", "INPUT_TEXT"}

title = os.environ.get("REPORT_TITLE", "untitled")
text = os.environ.get("INPUT_TEXT", "")
summary = textstats.summary(text)
print(f"{title}\n  {summary}")
print(f"  python {sys.version.split()[0]}, textstats {textstats.__version__}, "
      f"from {pathlib.Path(textstats.__file__).parent}")
print(f"  variables from the host: {sorted(set(os.environ) - BUILT_IN) or 'none but .env'}")
pathlib.Path("summary.json").write_text(json.dumps({"title": title, "summary": summary}) + "\n")
