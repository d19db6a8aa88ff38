// vars/milepostGate.groovy: a Milepost change gate step for a Jenkins
// shared library.
//
//   milepostGate(service: 'checkout', environment: 'production')
//
// runs `milepost gate --service S --environment E` and fails the build
// when the gate is closed (exit 3: every reason is in the log), when the
// service or environment is unknown (2), when the receiver cannot be asked
// (1), and when the agent is missing: a gate that could not be asked is
// never open.  MILEPOST_TOKEN comes from the secret-text credential
// 'milepost-token' (a reader token); MILEPOST_URL from the environment.
//
// Options: service, environment (required); credentialsId (default
// 'milepost-token'; null: MILEPOST_TOKEN is set by other means); agent
// (default 'milepost').  Returns true when the gate is open.

def call(Map args = [:]) {
    if (!args.service || !args.environment) {
        error('milepostGate: service and environment are required')
    }
    def agent = args.agent ?: 'milepost'
    def cred = args.containsKey('credentialsId') ? args.credentialsId : 'milepost-token'
    def ask = {
        // Arguments reach the shell through the environment, never as code.
        withEnv(["MILEPOST_GATE_SERVICE=${args.service}",
                 "MILEPOST_GATE_ENVIRONMENT=${args.environment}",
                 "MILEPOST_GATE_AGENT=${agent}"]) {
            return sh(returnStatus: true, script: '''
                command -v "$MILEPOST_GATE_AGENT" >/dev/null 2>&1 || {
                    echo "milepost is not on PATH: the gate cannot be asked" >&2; exit 1; }
                "$MILEPOST_GATE_AGENT" gate --service "$MILEPOST_GATE_SERVICE" \
                    --environment "$MILEPOST_GATE_ENVIRONMENT"
            ''')
        }
    }
    def rc = cred == null ? ask() :
        withCredentials([string(credentialsId: cred, variable: 'MILEPOST_TOKEN')]) { ask() }
    if (rc == 3) {
        error("milepostGate: the gate of ${args.service} in ${args.environment} is closed")
    } else if (rc != 0) {
        error("milepostGate: the gate could not be asked (exit ${rc})")
    }
    return true
}
