# reachy_mini_driver_app: the Reachy dashboard's launcher for reachy-mini-driver.
# `launcher` owns the driver's child process (find, start, forward logs, stop) and needs
# nothing but the standard library; `main` is the ReachyMiniApp the dashboard runs and is the
# only module that imports reachy_mini. Follows the README section "Starting from the dashboard".
