// Golden samples of the real Reachy Mini daemon (1.10.0.dev0, `--mockup-sim --no-media`), copied
// verbatim from /work/shared/fixtures/daemon/get1.txt, daemon_lifecycle.txt, move1.txt, move2.txt
// and ws1.txt (reachy-daemon-api.md §10.3) so the fidelity tests need nothing outside the repo.
// Bodies are kept as the raw text the daemon sent.

export interface RouteSample {
  readonly method: 'GET' | 'POST';
  readonly path: string;
  readonly status: number;
  readonly body: string;
}

/** Every GET route sampled in get1.txt, right after boot + wake-up. */
export const GET_SAMPLES: readonly RouteSample[] = [
  { method: "GET", path: "/api/state/full", status: 200, body: "{\"control_mode\":\"enabled\",\"head_pose\":{\"x\":-5.098407285099592e-6,\"y\":-0.00002103732995417259,\"z\":0.0000219045774776383,\"roll\":0.00016232833242704026,\"pitch\":-0.000052998501643086726,\"yaw\":-1.2591454450776762e-8},\"head_joints\":null,\"body_yaw\":-0.0,\"antennas_position\":[-0.1745038205670113,0.1745038205670113],\"timestamp\":\"2026-11-24T15:56:02.826801Z\",\"passive_joints\":null,\"doa\":null}" },
  { method: "GET", path: "/api/state/full?with_head_joints=true&with_target_head_pose=true&with_target_head_joints=true&with_target_body_yaw=true&with_target_antenna_positions=true&with_passive_joints=true&with_doa=true", status: 200, body: "{\"control_mode\":\"enabled\",\"head_pose\":{\"x\":-5.098407285099592e-6,\"y\":-0.00002103732995417259,\"z\":0.0000219045774776383,\"roll\":0.00016232833242704026,\"pitch\":-0.000052998501643086726,\"yaw\":-1.2591454450776762e-8},\"head_joints\":[-0.0,0.626547208743284,-0.6265426466165334,0.6265402743505383,-0.6265361565015651,0.6265371007221896,-0.626539163431121],\"body_yaw\":-0.0,\"antennas_position\":[-0.1745038205670113,0.1745038205670113],\"timestamp\":\"2026-11-24T15:56:02.845612Z\",\"passive_joints\":null,\"doa\":null}" },
  { method: "GET", path: "/api/state/full?use_pose_matrix=true", status: 200, body: "{\"control_mode\":\"enabled\",\"head_pose\":{\"m\":[1.0002529660851864,-0.00002849273944820057,-0.00005500863020828886,-5.098407285099592e-6,-0.00002851585821076899,1.0000084569806036,-0.000291811784414943,-0.00002103732995417259,0.00005101016619923781,0.00003288459137379334,1.0002454680310058,0.0000219045774776383,0.0,0.0,0.0,1.0]},\"head_joints\":null,\"body_yaw\":-0.0,\"antennas_position\":[-0.1745038205670113,0.1745038205670113],\"timestamp\":\"2026-11-24T15:56:02.863333Z\",\"passive_joints\":null,\"doa\":null}" },
  { method: "GET", path: "/api/state/present_head_pose", status: 200, body: "{\"x\":-5.098407285099592e-6,\"y\":-0.00002103732995417259,\"z\":0.0000219045774776383,\"roll\":0.00016232833242704026,\"pitch\":-0.000052998501643086726,\"yaw\":-1.2591454450776762e-8}" },
  { method: "GET", path: "/api/state/present_head_pose?use_pose_matrix=true", status: 200, body: "{\"m\":[1.0002529660851864,-0.00002849273944820057,-0.00005500863020828886,-5.098407285099592e-6,-0.00002851585821076899,1.0000084569806036,-0.000291811784414943,-0.00002103732995417259,0.00005101016619923781,0.00003288459137379334,1.0002454680310058,0.0000219045774776383,0.0,0.0,0.0,1.0]}" },
  { method: "GET", path: "/api/state/present_body_yaw", status: 200, body: "-0.0" },
  { method: "GET", path: "/api/state/present_antenna_joint_positions", status: 200, body: "[-0.1745038205670113,0.1745038205670113]" },
  { method: "GET", path: "/api/state/doa", status: 200, body: "null" },
  { method: "GET", path: "/api/motors/status", status: 200, body: "{\"mode\":\"enabled\"}" },
  { method: "GET", path: "/api/move/running", status: 200, body: "[]" },
  { method: "GET", path: "/api/kinematics/info", status: 200, body: "{\"info\":{\"engine\":\"AnalyticalKinematics\",\"collision check\":false}}" },
  { method: "GET", path: "/api/media/status", status: 200, body: "{\"available\":false,\"released\":false,\"no_media\":true}" },
  { method: "GET", path: "/api/camera/specs", status: 200, body: "{\"name\":\"lite\",\"available_resolutions\":[{\"name\":\"R1920x1080at60fps\",\"width\":1920,\"height\":1080,\"fps\":60,\"crop_factor\":1.115},{\"name\":\"R3840x2592at30fps\",\"width\":3840,\"height\":2592,\"fps\":30,\"crop_factor\":1.0},{\"name\":\"R3840x2160at30fps\",\"width\":3840,\"height\":2160,\"fps\":30,\"crop_factor\":1.109},{\"name\":\"R3264x2448at30fps\",\"width\":3264,\"height\":2448,\"fps\":30,\"crop_factor\":1.115}],\"default_resolution\":{\"name\":\"R1920x1080at60fps\",\"width\":1920,\"height\":1080,\"fps\":60,\"crop_factor\":1.115},\"K\":[[2001.8076426486707,0.0,1905.876059826701],[0.0,2003.0778885944105,1328.3239717935594],[0.0,0.0,1.0]],\"D\":[-1.4652320301298614,0.6542714131667414,0.012147809271745049,-0.002677286460143648,0.3035939941825349,-1.4300809080461876,0.570024082887235,0.3567299243352951,0.003057363348400015,0.0003357614008682464,-0.009897126394310923,-0.002050919484589521]}" },
  { method: "GET", path: "/api/daemon/robot-name", status: 200, body: "{\"name\":\"reachy_mini\"}" },
  { method: "GET", path: "/api/daemon/hardware-id", status: 200, body: "{\"hardware_id\":null}" },
  { method: "GET", path: "/api/daemon/robot-app-lock-status", status: 200, body: "{\"state\":\"free\",\"holder_name\":null}" },
  { method: "GET", path: "/api/volume/current", status: 500, body: "Internal Server Error" },
  { method: "GET", path: "/api/volume/microphone/current", status: 500, body: "Internal Server Error" },
  { method: "GET", path: "/api/apps/current-app-status", status: 200, body: "null" },
  { method: "GET", path: "/api/apps/startup-app", status: 200, body: "{\"startup_app\":null}" },
  { method: "GET", path: "/api/hf-auth/status", status: 200, body: "{\"is_logged_in\":false,\"username\":null}" },
];

/** `GET /api/daemon/status` at boot (daemon_lifecycle.txt, ws1.txt). */
export const DAEMON_STATUS_RUNNING =
  '{"type":"daemon_status","robot_name":"reachy_mini","state":"running","wireless_version":false,"desktop_app_daemon":false,"simulation_enabled":false,"mockup_sim_enabled":true,"no_media":true,"media_released":false,"camera_specs_name":"","backend_status":{"motor_control_mode":"enabled","error":null},"error":null,"wlan_ip":null,"version":"1.10.0.dev0","hardware_id":null,"face_target":{"detected":false,"x":null,"y":null,"roll":null,"ts":null}}';

/** `GET /api/daemon/status` after `/api/daemon/stop?goto_sleep=false` (daemon_lifecycle.txt). */
export const DAEMON_STATUS_STOPPED =
  '{"type":"daemon_status","robot_name":"reachy_mini","state":"stopped","wireless_version":false,"desktop_app_daemon":false,"simulation_enabled":false,"mockup_sim_enabled":true,"no_media":true,"media_released":false,"camera_specs_name":"","backend_status":null,"error":null,"wlan_ip":null,"version":"1.10.0.dev0","hardware_id":null,"face_target":{"detected":false,"x":null,"y":null,"roll":null,"ts":null}}';

/** The error state of the mockup-restart bug (daemon_start_bug.txt). */
export const DAEMON_STATUS_ERROR =
  '{"type":"daemon_status","robot_name":"reachy_mini","state":"error","wireless_version":false,"desktop_app_daemon":false,"simulation_enabled":false,"mockup_sim_enabled":false,"no_media":true,"media_released":false,"camera_specs_name":"","backend_status":null,"error":"No Reachy Mini serial port found. Check USB connection and permissions. Or directly specify the serial port using --serialport.","wlan_ip":null,"version":"1.10.0.dev0","hardware_id":null,"face_target":{"detected":false,"x":null,"y":null,"roll":null,"ts":null}}';

/** Error replies of move1.txt / move2.txt / daemon_lifecycle.txt, verbatim. */
export const ERROR_SAMPLES = {
  gotoMissingDuration:
    '{"detail":[{"type":"missing","loc":["body","duration"],"msg":"Field required","input":{"antennas":[0,0]}}]}',
  gotoBadInterpolation:
    `{"detail":[{"type":"enum","loc":["body","interpolation"],"msg":"Input should be 'linear', 'minjerk', 'ease_in_out' or 'cartoon'","input":"cubic","ctx":{"expected":"'linear', 'minjerk', 'ease_in_out' or 'cartoon'"}}]}`,
  setTargetThreeAntennas:
    '{"detail":[{"type":"too_long","loc":["body","target_antennas"],"msg":"Tuple should have at most 2 items after validation, not 3","input":[0,0,0],"ctx":{"field_type":"Tuple","max_length":2,"actual_length":3}}]}',
  setModeBogus:
    `{"detail":[{"type":"enum","loc":["path","mode"],"msg":"Input should be 'enabled', 'disabled' or 'gravity_compensation'","input":"bogus","ctx":{"expected":"'enabled', 'disabled' or 'gravity_compensation'"}}]}`,
  stopMissingGotoSleep: '{"detail":[{"type":"missing","loc":["query","goto_sleep"],"msg":"Field required","input":null}]}',
  backendNotRunning: '{"detail":"Backend not running"}',
  jobNotFound: '{"detail":"Job ID not found"}',
  internalServerError: 'Internal Server Error',
} as const;

/** `/ws/sdk` pushes of ws1.txt (Python's `json.dumps` spacing removed). */
export const SDK_PUSH_SAMPLES = {
  joint_positions: '{"type":"joint_positions","head_joint_positions":[-0.0,0.6770470483966409,-0.695048451372514,0.643141637719943,-0.610784605277649,0.5619062303889282,-0.5763206822668834],"antennas_joint_positions":[0.2,-0.2]}',
  head_pose: '{"type":"head_pose","head_pose":[[1.00025296626214,-3.2367267299613755e-05,-4.935747161453916e-05,-5.487338938803205e-06],[-2.9726146428407766e-05,0.994989826794436,-0.10006119973264097,-2.125515831566558e-05],[4.834200222634449e-05,0.09982721104189968,0.9952514886191554,2.180212558100525e-05],[0.0,0.0,0.0,1.0]]}',
  task_progress: '{"type":"task_progress","uuid":"21979fae-33d0-4c39-8af0-5086aef4e338","finished":true,"error":null,"timestamp":"2026-11-24T15:57:00.834683"}',
  recorded_data: '{"type":"recorded_data","data":[{"time":1.0,"antennas":[0.1,0.2]}]}',
} as const;

/** `/api/move/ws/updates` events of ws1.txt. */
export const MOVE_UPDATE_SAMPLE = '{"type":"move_started","uuid":"741ea262-1400-4666-955d-24f65c89d14c","details":""}';

/** move1.txt: state after `goto {z:0.01, pitch:0.2, yaw:0.3, antennas [0.5,-0.5], body_yaw 0.2}`. */
export const AFTER_GOTO_HEAD_JOINTS = [0.19999996202096534, 0.8015747763010859, -0.803068594442424, 1.0770585055566766, -1.0276444029471579, 0.8568908684435796, -0.7458627467861088];
/** get1.txt: head joints at the init pose. */
export const INIT_HEAD_JOINTS = [-0.0, 0.626547208743284, -0.6265426466165334, 0.6265402743505383, -0.6265361565015651, 0.6265371007221896, -0.626539163431121];
/** move2.txt: head joints after goto_sleep. */
export const SLEEP_POSE_HEAD_JOINTS = [-0.0, -0.17032082745860855, 0.836280715244567, -0.12352695974547334, 0.0876868154198105, -0.8122906359782478, 0.17832969953346467];
