"""Pure optimization core of gunmane: arc routing, districting, p-median, cost sharing.

Arrays in, results out. No geodata, web, file or network code lives here; only numpy and OR-Tools.
"""

from optimizer.arc_routing import solve_arc_routing as solve_arc_routing
from optimizer.carp_data import CarpData as CarpData
from optimizer.carp_data import CarpModel as CarpModel
from optimizer.carp_data import TaskKind as TaskKind
from optimizer.carp_data import VehicleType as VehicleType
from optimizer.carp_solution import CarpSolution as CarpSolution
from optimizer.carp_solution import Route as Route
from optimizer.carp_solution import Service as Service
from optimizer.checker import CheckReport as CheckReport
from optimizer.checker import check_solution as check_solution
from optimizer.result import ArcRoutingResult as ArcRoutingResult
from optimizer.shortest_paths import DeadheadGraph as DeadheadGraph
from optimizer.shortest_paths import solution_deadhead_paths as solution_deadhead_paths
