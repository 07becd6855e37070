"""A LangChain-style "python_code_interpreter" tool backed by nsbox serve, and a small agent
loop that uses it.

The tool has the name, description and return shape agent frameworks already give their
models: the model writes Python, prints what it wants to see, and saves files to /workspace.
When LangChain is installed, `as_langchain_tool()` wraps it as a StructuredTool; without it the
plain object works with any loop that calls `tool.run(code)`.

    python3 agent_tool.py --server unix:PATH
runs a scripted "model" (no network LLM needed) through two tool calls and prints the
transcript.
"""
import argparse
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from nsbox_client import NsboxClient, NsboxError  # noqa: E402

TOOL_NAME = "python_code_interpreter"
TOOL_DESCRIPTION = (
    "Executes Python 3 code in a fresh, isolated sandbox and returns what it printed. "
    "Use print() to see results: only stdout and stderr come back. Save files to /workspace "
    "(the working directory) to return them. No network access; each call starts from scratch, "
    "so re-create any state you need.")


class PythonCodeInterpreter:
    name = TOOL_NAME
    description = TOOL_DESCRIPTION

    def __init__(self, client=None, timeout_ms=None):
        self.client = client or NsboxClient()
        self.timeout_ms = timeout_ms

    def run(self, code, files=None):
        """The tool result agents expect: stdout, stderr, success, and the files written."""
        try:
            r = self.client.execute(code, files=files, timeout_ms=self.timeout_ms)
        except NsboxError as error:
            return {"success": False, "stdout": "", "stderr": "", "error": str(error),
                    "files": {}}
        return {"success": r["success"], "stdout": r["stdout"], "stderr": r["stderr"],
                "error": r["error"] or (None if r["success"] else f"{r['reason']} "
                                        f"(exit code {r['exit_code']})"),
                "files": {path: data.decode("utf-8", "replace") if len(data) < 4096 else
                          f"<{len(data)} bytes>" for path, data in r["files"].items()}}

    __call__ = run

    def as_langchain_tool(self):
        from langchain_core.tools import StructuredTool  # optional dependency
        return StructuredTool.from_function(func=lambda code: self.run(code), name=self.name,
                                            description=self.description)


def scripted_model(transcript):
    """Stands in for an LLM: decides the next tool call from what it has seen so far."""
    calls = [m for m in transcript if m["role"] == "tool"]
    if not calls:
        return {"tool": TOOL_NAME, "code": (
            "import statistics, json\n"
            "data = [3, 1, 4, 1, 5, 9, 2, 6]\n"
            "summary = {'mean': statistics.mean(data), 'max': max(data)}\n"
            "open('summary.json', 'w').write(json.dumps(summary))\n"
            "print(summary)\n")}
    if len(calls) == 1:
        return {"tool": TOOL_NAME, "code": "import socket\nsocket.create_connection(('example.com', 80), timeout=2)\n"}
    last = calls[-1]["content"]
    return {"answer": "The mean is 3.875; the sandbox has no network"
            + (" (as the second call showed)." if not last["success"] else ".")}


def agent_loop(tool, model=scripted_model, max_steps=5):
    transcript = [{"role": "user", "content": "Summarize [3,1,4,1,5,9,2,6]; can you reach the web?"}]
    for _ in range(max_steps):
        step = model(transcript)
        if "answer" in step:
            transcript.append({"role": "assistant", "content": step["answer"]})
            return transcript
        transcript.append({"role": "assistant", "tool_call": step})
        transcript.append({"role": "tool", "name": step["tool"], "content": tool.run(step["code"])})
    return transcript


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--server")
    ap.add_argument("--token-file")
    args = ap.parse_args()
    token = open(args.token_file).read().strip() if args.token_file else None
    tool = PythonCodeInterpreter(NsboxClient(args.server, token), timeout_ms=10_000)
    transcript = agent_loop(tool)
    print(json.dumps(transcript, indent=2))
    first = transcript[2]["content"]
    ok = (first["success"] and "3.875" in first["stdout"] and "summary.json" in first["files"]
          and not transcript[4]["content"]["success"])
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
