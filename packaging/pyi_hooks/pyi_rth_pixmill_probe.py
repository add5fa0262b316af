# Pixmill's import probe, a PyInstaller run-time hook (packaging/pixmill.spec lists it in
# runtime_hooks): for the packaging smoke test only, not a feature of the app.
#
#   PIXMILL_IMPORT_PROBE=pillow_heif,pillow_jxl,rawpy /opt/pixmill/pixmill
#
# With that variable set, the frozen program imports the listed modules from its own bundle,
# prints one line of JSON and exits before the app starts: 0 if every module imported, 3 if
# one did not. The JSON holds, per module, its version and file or the error; the image
# formats Pillow can then open and save; and on Linux every shared library the process has
# mapped, so the smoke test can see that the codecs' native libraries come from the bundle.
# Without the variable this costs one environment lookup per process.


def _pixmill_import_probe(names):
    import importlib
    import json
    import os
    import sys

    modules = {}
    for name in (n.strip() for n in names.split(",")):
        if not name:
            continue
        try:
            module = importlib.import_module(name)
        except BaseException as exc:  # an ImportError, or an OSError from a missing .so
            modules[name] = {"error": f"{type(exc).__name__}: {exc}"}
            continue
        modules[name] = {
            "version": str(getattr(module, "__version__", "")),
            "file": str(getattr(module, "__file__", "")),
        }
    report = {"frozen": bool(getattr(sys, "frozen", False)), "bundle": sys._MEIPASS}
    report["modules"] = modules
    if "PIL.Image" in sys.modules:
        from PIL import Image

        report["pillow_open"] = sorted(Image.OPEN)
        report["pillow_save"] = sorted(Image.SAVE)
    try:
        with open("/proc/self/maps", encoding="utf-8", errors="replace") as maps:
            fields = [line.split(None, 5) for line in maps]
        mapped = {f[5].strip() for f in fields if len(f) == 6}
        report["libraries"] = sorted(p for p in mapped if ".so" in os.path.basename(p))
    except OSError:  # not Linux
        pass
    if sys.stdout is not None:  # None in a windowed Windows executable
        sys.stdout.write(json.dumps(report) + "\n")
        sys.stdout.flush()
    ok = all("error" not in m for m in modules.values())
    os._exit(0 if ok else 3)  # no teardown: nothing of the app has started


def _pixmill_probe_hook():
    import os

    names = os.environ.get("PIXMILL_IMPORT_PROBE")
    if names:
        _pixmill_import_probe(names)


_pixmill_probe_hook()
del _pixmill_probe_hook
