"""ThumbnailLoader: thumbnails decoded on two background threads (engine.thumbnails: the EXIF
thumbnail or a reduced decode), newest request first, and kept in a bounded cache.

Views ask only for the rows they paint, and say which rows they show (keep_only), so a
request for a row scrolled away is dropped before it is decoded: a queue of 100,000 files
decodes what is on screen and nothing else.
"""

from __future__ import annotations

import threading
from collections import OrderedDict, deque
from dataclasses import dataclass

from PySide6.QtCore import QObject, QSize, Qt, Signal, Slot
from PySide6.QtGui import QColor, QIcon, QImage, QPainter, QPalette, QPixmap

from pixmill.engine.thumbnails import read_thumbnail

#: The long side of a thumbnail, in device-independent pixels.
BOX = 96
#: Thumbnails kept in memory (about 40 KB each at 96 px on a 2x screen).
CACHE = 1500
#: Requests waiting at most: more than a screenful means the view scrolled on.
PENDING = 400
THREADS = 2


@dataclass(frozen=True)
class PictureInfo:
    """What reading a thumbnail learnt about a file: its upright pixel size, or why it could
    not be read."""

    width: int = 0
    height: int = 0
    error: str = ""


class ThumbnailLoader(QObject):
    """Decodes thumbnails off the GUI thread.

    Attributes:
        decoded: how many files were read so far (tests check only visible rows are).

    Signals:
        loaded(object): str, a path whose thumbnail (or failure) is now known.
    """

    loaded = Signal(object)
    _done = Signal(object)

    def __init__(self, box: int = BOX, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.box = box
        self.decoded = 0
        self._ratio = 1.0
        self._cache: OrderedDict[str, QIcon] = OrderedDict()
        self._info: dict[str, PictureInfo] = {}
        self._queue: deque[str] = deque()
        self._queued: set[str] = set()
        self._busy: set[str] = set()
        self._cond = threading.Condition()
        self._stopped = False
        self._threads: list[threading.Thread] = []
        self._blank: QIcon | None = None
        self._done.connect(self._on_done)

    def set_device_pixel_ratio(self, ratio: float) -> None:
        """Decode for this screen's pixel density (sharp on high-DPI screens)."""
        ratio = max(1.0, ratio)
        if ratio != self._ratio:
            self._ratio = ratio
            self._blank = None
            self._cache.clear()

    # --- what views ask --------------------------------------------------------------------
    def icon(self, path: str, request: bool = True) -> QIcon:
        """The thumbnail (an icon: views draw it at their icon size), or a blank of the same
        size while it loads (asked for here when request, else the view asks itself)."""
        found = self._cache.get(path)
        if found is not None:
            self._cache.move_to_end(path)
            return found
        if request:
            self.request(path)
        return self.blank()

    def info(self, path: str) -> PictureInfo | None:
        return self._info.get(path)

    def blank(self) -> QIcon:
        if self._blank is None:
            side = round(self.box * self._ratio)
            pixmap = QPixmap(side, side)
            pixmap.fill(Qt.GlobalColor.transparent)
            painter = QPainter(pixmap)
            color = QPalette().color(QPalette.ColorRole.Mid)
            color.setAlpha(60)
            painter.fillRect(pixmap.rect().adjusted(4, 4, -4, -4), QColor(color))
            painter.end()
            pixmap.setDevicePixelRatio(self._ratio)
            self._blank = QIcon(pixmap)
        return self._blank

    def _framed(self, image: QImage) -> QPixmap:
        """image centred on a clear square of the box's size, so that every row lines its
        name up the same way, portrait or landscape."""
        side = round(self.box * self._ratio)
        pixmap = QPixmap(side, side)
        pixmap.fill(Qt.GlobalColor.transparent)
        painter = QPainter(pixmap)
        painter.drawImage((side - image.width()) // 2, (side - image.height()) // 2, image)
        painter.end()
        pixmap.setDevicePixelRatio(self._ratio)
        return pixmap

    def request(self, path: str) -> None:
        """Read path's thumbnail (unless it is known, or on its way)."""
        if path in self._cache or (path in self._info and self._info[path].error):
            return
        with self._cond:
            if path in self._queued or path in self._busy:
                return
            self._queue.append(path)
            self._queued.add(path)
            while len(self._queue) > PENDING:
                self._queued.discard(self._queue.popleft())
            self._cond.notify()
        self._ensure_threads()

    def keep_only(self, paths: set[str]) -> None:
        """Drop every waiting request for a path not in paths (rows no longer shown)."""
        with self._cond:
            kept = [p for p in self._queue if p in paths]
            self._queue = deque(kept)
            self._queued = set(kept)

    def forget(self) -> None:
        """Drop waiting requests and cached thumbnails (the files may have changed)."""
        with self._cond:
            self._queue.clear()
            self._queued.clear()
        self._cache.clear()
        self._info.clear()

    def stop(self) -> None:
        with self._cond:
            self._stopped = True
            self._queue.clear()
            self._queued.clear()
            self._cond.notify_all()

    # --- the threads -----------------------------------------------------------------------
    def _ensure_threads(self) -> None:
        while len(self._threads) < THREADS and not self._stopped:
            t = threading.Thread(target=self._work, name="pixmill-thumbnails", daemon=True)
            self._threads.append(t)
            t.start()

    def _work(self) -> None:
        while True:
            with self._cond:
                while not self._queue and not self._stopped:
                    self._cond.wait()
                if self._stopped:
                    return
                path = self._queue.pop()  # newest first: what the view shows now
                self._queued.discard(path)
                self._busy.add(path)
                side = round(self.box * self._ratio)
            try:
                thumb = read_thumbnail(path, side)
                image = QImage(
                    thumb.rgb,
                    thumb.width,
                    thumb.height,
                    thumb.width * 3,
                    QImage.Format.Format_RGB888,
                ).copy()  # owns its pixels once thumb's bytes are gone
                outcome = (path, image, PictureInfo(thumb.full_width, thumb.full_height))
            except Exception as exc:  # a file that cannot be read just has no thumbnail
                outcome = (path, None, PictureInfo(error=str(exc) or type(exc).__name__))
            try:
                self._done.emit(outcome)
            except RuntimeError:  # the loader is gone
                return

    @Slot(object)
    def _on_done(self, outcome: tuple[str, QImage | None, PictureInfo]) -> None:
        path, image, info = outcome
        with self._cond:
            self._busy.discard(path)
        self.decoded += 1
        self._info[path] = info
        if image is not None:
            self._cache[path] = QIcon(self._framed(image))
            while len(self._cache) > CACHE:
                self._cache.popitem(last=False)
        self.loaded.emit(path)


def icon_size(box: int = BOX) -> QSize:
    return QSize(box, box)
