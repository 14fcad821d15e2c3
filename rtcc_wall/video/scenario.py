"""Scripted demo scenarios in the simulated town.

``getaway``: an incident downtown; a suspect car of a distinct colour (magenta,
a colour no background car has) leaves the incident point along one plausible
escape route, a little faster than the limit. The operator marks the
incident, reads the predicted routes and camera windows, and watches the
suspect cross the cameras of one of them - which is also how the end-to-end
test checks the prediction against what the cameras actually showed.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from rtcc_wall.core.cameras import Camera
from rtcc_wall.core.routing import (
    CameraFovIndex,
    EscapeAnalysis,
    EscapeRoute,
    RoutingGraph,
    analyze,
)
from rtcc_wall.video.sim import SimWorld

SUSPECT_BGR = (255, 0, 255)
#: The suspect drives this much faster than the limit (inside the 0.8-1.5 prediction range).
SUSPECT_SPEED = 1.2
#: Where the incident happens: an intersection of the demo's downtown (local metres).
GETAWAY_NEAR_XY = (120.0, 0.0)
#: Seconds between the scenario starting and the suspect driving off.
LEAD_S = 3.0

SCENARIOS = ("getaway",)


@dataclass(frozen=True)
class Getaway:
    x: float
    y: float
    at: dt.datetime  # when the suspect drives off (the incident time)
    world_t: float  # the same moment in world time
    vehicle_id: int
    route: EscapeRoute  # the predicted route the suspect follows
    analysis: EscapeAnalysis


def network_edges(graph: RoutingGraph, route: EscapeRoute) -> list[int]:
    """The road network's directed edge ids of a route (a graph built honouring one-way)."""
    net = graph.net
    by_key = {
        (int(s), bool(f)): e
        for e, (s, f) in enumerate(
            zip(net.edge_segment.tolist(), net.edge_forward.tolist(), strict=True)
        )
    }
    return [by_key[(int(graph.edge_segment[g]), bool(graph.edge_forward[g]))] for g in route.edges]


def start_getaway(
    world: SimWorld,
    cameras: list[Camera],
    *,
    now: dt.datetime | None = None,
    near_xy: tuple[float, float] = GETAWAY_NEAR_XY,
    minutes: float = 10.0,
) -> Getaway:
    """Places the incident at the intersection nearest ``near_xy`` and sends the suspect off.

    The suspect follows the predicted route with the most cameras (so the demo
    shows camera after camera), from the incident's intersection.
    """
    graph = RoutingGraph.from_network(world.network)
    xy = world.network.nodes_xy
    d2 = (xy[:, 0] - near_xy[0]) ** 2 + (xy[:, 1] - near_xy[1]) ** 2
    node = int(d2.argmin())
    x, y = float(xy[node, 0]), float(xy[node, 1])
    wall_now = now or dt.datetime.now(dt.UTC)
    world_t = world.now() + LEAD_S
    at = wall_now + dt.timedelta(seconds=LEAD_S)
    analysis = analyze(graph, CameraFovIndex(cameras), x, y, at=at, minutes=minutes)
    if not analysis.routes:
        raise RuntimeError("getaway scenario: no escape route from the incident point")
    route = max(analysis.routes, key=lambda r: (len(r.cameras), -r.index))
    edges = network_edges(graph, route)
    if route.first_edge_m < 1.0 and len(edges) > 1:
        edges = edges[1:]  # the incident is at the end of that edge: the drive starts after it
    vid = world.add_vehicle(
        edges, color_bgr=SUSPECT_BGR, start_t=world_t, speed_factor=SUSPECT_SPEED, then="vanish"
    )
    return Getaway(x, y, at, world_t, vid, route, analysis)
