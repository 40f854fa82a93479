"""Pure optimization core of gunmane: arc routing, districting, p-median, cost sharing.

Arrays in, results out. No geodata, web, file or network code lives here; only numpy and OR-Tools.
"""
