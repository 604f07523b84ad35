"""What a synthetic action looks like: a coloured shape (the noun) moving (the verb).

Verbs are motions and nouns are shape/colour pairs, so a clip is labelled by
what happens in its frames: a model has to look at the right frames, in order,
to get both right.
"""
from dataclasses import dataclass
from typing import List, Sequence, Tuple

import cv2
import numpy as np

from .framecode import draw_frame_code, strip_height

VERBS: List[str] = ['move-left', 'move-right', 'move-up', 'move-down',
                    'rotate-clockwise', 'rotate-anticlockwise']
SHAPES = {
    # polygons in units of the sprite size, centred on the origin
    'bar': [(-0.5, -0.17), (0.5, -0.17), (0.5, 0.17), (-0.5, 0.17)],
    'ell': [(-0.4, -0.5), (-0.1, -0.5), (-0.1, 0.2), (0.45, 0.2), (0.45, 0.5),
            (-0.4, 0.5)],
    'tee': [(-0.5, -0.5), (0.5, -0.5), (0.5, -0.2), (0.15, -0.2), (0.15, 0.5),
            (-0.15, 0.5), (-0.15, -0.2), (-0.5, -0.2)],
    'arrow': [(-0.5, -0.3), (0.5, 0.0), (-0.5, 0.3), (-0.25, 0.0)],
}
COLOURS = {'red': (220, 40, 40), 'green': (40, 190, 60), 'blue': (50, 90, 235)}
NOUNS: List[str] = [f'{c}-{s}' for s in SHAPES for c in COLOURS]

MOVE_SPEED = 0.6  # fraction of the free width (or height) per second
TURN_SPEED = 360.0  # degrees per second
MAX_TRAVEL = 0.9  # the longest move, as a fraction of the free area


def max_event_seconds(move_speed: float = MOVE_SPEED) -> float:
    """The longest event whose move stays inside the frame."""
    return MAX_TRAVEL / move_speed


@dataclass(frozen=True)
class Action:
    """One rendered event: frames [start, stop] (inclusive) of class (verb, noun)."""
    start: int
    stop: int
    verb: int
    noun: int
    x0: float  # sprite centre at ``start``, as fractions of the free area
    y0: float
    angle0: float  # degrees
    move_speed: float = MOVE_SPEED  # fraction of the free area per second
    turn_speed: float = TURN_SPEED  # degrees per second

    @property
    def num_frames(self) -> int:
        return self.stop - self.start + 1


def sprite_size(width: int, height: int, scale: float = 0.2) -> int:
    """Sprite side in pixels: ``scale`` of the height below the code strip."""
    return max(8, int(scale * (height - strip_height(width, height))))


def make_background(width: int, height: int, rng: np.random.Generator) -> np.ndarray:
    """A static 'kitchen': a soft gradient with a few grey cupboards."""
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    base = rng.uniform(90, 150, size=3)
    tilt = rng.uniform(-40, 40, size=3)
    img = base + tilt * (xx / width)[..., None] + 0.5 * tilt * (yy / height)[..., None]
    img = np.clip(img, 60, 190).astype(np.uint8)
    for _ in range(4):
        x, y = int(rng.uniform(0, width * 0.8)), int(rng.uniform(0, height * 0.8))
        w, h = int(rng.uniform(0.1, 0.3) * width), int(rng.uniform(0.1, 0.3) * height)
        shade = int(rng.uniform(70, 180))
        cv2.rectangle(img, (x, y), (x + w, y + h), (shade, shade, shade), -1)
    return img


def plan_pose(verb: int, num_frames: int, fps: float, width: int, height: int,
              rng: np.random.Generator,
              move_speed: float = MOVE_SPEED) -> Tuple[float, float, float]:
    """A start position and angle that keep the whole motion inside the frame."""
    seconds = num_frames / fps
    travel = min(MAX_TRAVEL, move_speed * seconds)  # as a fraction of the free area
    x0, y0 = rng.uniform(0.15, 0.85), rng.uniform(0.15, 0.85)
    name = VERBS[verb]
    if name == 'move-left':
        x0 = rng.uniform(0.05 + travel, 0.95) if travel < MAX_TRAVEL else 0.95
    elif name == 'move-right':
        x0 = rng.uniform(0.05, 0.95 - travel) if travel < MAX_TRAVEL else 0.05
    elif name == 'move-up':
        y0 = rng.uniform(0.05 + travel, 0.95) if travel < MAX_TRAVEL else 0.95
    elif name == 'move-down':
        y0 = rng.uniform(0.05, 0.95 - travel) if travel < MAX_TRAVEL else 0.05
    return float(x0), float(y0), float(rng.uniform(0, 360))


def pose_at(action: Action, frame: int, fps: float) -> Tuple[float, float, float]:
    """Sprite centre (fractions of the free area) and angle at ``frame``."""
    t = (frame - action.start) / fps
    dx = dy = dang = 0.0
    name = VERBS[action.verb]
    step = min(action.move_speed * t, MAX_TRAVEL)
    if name == 'move-left':
        dx = -step
    elif name == 'move-right':
        dx = step
    elif name == 'move-up':
        dy = -step
    elif name == 'move-down':
        dy = step
    elif name == 'rotate-clockwise':
        dang = action.turn_speed * t
    else:
        dang = -action.turn_speed * t
    return action.x0 + dx, action.y0 + dy, action.angle0 + dang


def render_frame(background: np.ndarray, action: Action, frame: int,
                 fps: float, object_scale: float = 0.2) -> np.ndarray:
    """The RGB frame ``frame`` of the video, with its frame code."""
    img = background.copy()
    h, w = img.shape[:2]
    top = strip_height(w, h)
    size = sprite_size(w, h, object_scale)
    x, y, angle = pose_at(action, frame, fps)
    cx = size / 2 + x * (w - size)
    cy = top + size / 2 + y * (h - top - size)
    shape_name = list(SHAPES)[action.noun // len(COLOURS)]
    colour = list(COLOURS.values())[action.noun % len(COLOURS)]
    pts = np.array(SHAPES[shape_name], np.float32) * size
    rad = np.deg2rad(angle)
    rot = np.array([[np.cos(rad), -np.sin(rad)], [np.sin(rad), np.cos(rad)]], np.float32)
    pts = pts @ rot.T + np.array([cx, cy], np.float32)
    cv2.fillPoly(img, [np.round(pts * 16).astype(np.int32)], colour,
                 lineType=cv2.LINE_AA, shift=4)
    return draw_frame_code(img, frame)


def class_rows(names: Sequence[str], category: str) -> List[dict]:
    """Rows of an ``EPIC_100_{verb,noun}_classes.csv`` for synthetic classes."""
    return [dict(id=i, key=name, instances=str([name, name.replace('-', ' ')]),
                 category=category) for i, name in enumerate(names)]
