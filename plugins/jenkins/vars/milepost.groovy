// vars/milepost.groovy: the milepost step of a Jenkins shared library.
//
//   milepost(service: 'shop') {          // every sh in the block is wrapped
//       sh 'make'
//       sh 'make test'
//   }
//   milepost.run('make test')            // one command
//   milepost.run(script: 'make test', id: 'shop-unit', service: 'shop')
//
// Each sh writes its script to a private file and runs it as
//   milepost run --id "$BUILD_TAG-<stage>" --service <service> -- sh -xe FILE
// (or -- FILE when the script starts with #!, as Jenkins's sh does), so
// the agent sends BuildStartedEvent and BuildCompleted, and the step
// fails or passes exactly as the command does.  MILEPOST_SECRET comes from
// the secret-text credential 'milepost-secret' (withCredentials); the
// receiver's address from MILEPOST_URL in the environment (or url:).
// Without the agent on the PATH the command runs as a plain sh, with a
// warning: a missing agent never fails a build.  bat, powershell and pwsh
// inside milepost { } are not wrapped: they run after a warning.
//
// Options (all optional):
//   id            the build id; default "$BUILD_TAG-<stage name>", with
//                 anything but [A-Za-z0-9._-] written '-'
//   service       --service; default none
//   credentialsId the secret-text credential holding the whsec_ secret;
//                 default 'milepost-secret'; null: MILEPOST_SECRET is set
//                 by other means
//   url           MILEPOST_URL for these commands; default the environment's
//   agent         the agent's command; default 'milepost'
// sh's own options (returnStatus, returnStdout, label, encoding) work as
// they do for sh.

def call(Map args = [:], Closure body) {
    def opts = milepostOptions(args)
    body.resolveStrategy = Closure.DELEGATE_FIRST
    body.delegate = new MilepostShell(this, opts)
    return body()
}

def run(String script) {
    return run(script: script)
}

def run(Map args) {
    if (!args.script) {
        error 'milepost.run: no script to run'
    }
    return milepostSh(milepostOptions(args), args)
}

// The options with their defaults filled in.
def milepostOptions(Map args) {
    def stage = env.STAGE_NAME ?: 'build'
    def id = args.id ?: "${env.BUILD_TAG ?: 'jenkins'}-${stage}"
    return [
        id: id.toString().replaceAll(/[^A-Za-z0-9._-]+/, '-'),
        service: args.service,
        credentialsId: args.containsKey('credentialsId') ? args.credentialsId : 'milepost-secret',
        url: args.url,
        agent: args.agent ?: 'milepost',
    ]
}

// One sh step (args as sh takes them), wrapped by the agent.
def milepostSh(Map opts, Map args) {
    def shArgs = [script: milepostCommand(opts, args.script.toString())]
    for (k in ['returnStatus', 'returnStdout', 'label', 'encoding']) {
        if (args.containsKey(k)) {
            shArgs[k] = args[k]
        }
    }
    def envs = opts.url ? ["MILEPOST_URL=${opts.url}"] : []
    return withEnv(envs) {
        if (opts.credentialsId) {
            return withCredentials([string(credentialsId: opts.credentialsId,
                variable: 'MILEPOST_SECRET')]) {
                return sh(shArgs)
            }
        }
        return sh(shArgs)
    }
}

// The shell command for Jenkins's sh: the script goes verbatim into a
// private file (a quoted here-document with a delimiter it cannot
// contain), which runs the way Jenkins's own sh runs a script
// (durable-task's BourneShellScript): a script that starts with #! is
// executed as it is, so its interpreter and flags are honoured; any other
// runs under sh -xe, traced and stopping at the first failing command.
String milepostCommand(Map opts, String script) {
    def eof = 'MILEPOST_SCRIPT_' + UUID.randomUUID().toString().replace('-', '')
    while (script.contains(eof)) {
        eof += 'X'
    }
    def inner = script.startsWith('#!') ? '"$milepost_script"' : 'sh -xe "$milepost_script"'
    def agent = milepostQuote(opts.agent)
    def run = "${agent} run --id ${milepostQuote(opts.id)}"
    if (opts.service) {
        run += " --service ${milepostQuote(opts.service.toString())}"
    }
    return 'milepost_dir=${WORKSPACE_TMP:-${TMPDIR:-/tmp}}\n' +
        'mkdir -p "$milepost_dir"\n' +
        'milepost_script=$(umask 077 && mktemp "$milepost_dir/milepost-step.XXXXXX")\n' +
        'trap \'rm -f "$milepost_script"\' EXIT\n' +
        "cat > \"\$milepost_script\" <<'${eof}'\n" +
        script + (script.endsWith('\n') ? '' : '\n') +
        "${eof}\n" +
        'chmod 700 "$milepost_script"\n' +
        "if command -v ${agent} >/dev/null 2>&1; then\n" +
        "  ${run} -- ${inner}\n" +
        "else\n" +
        "  echo 'milepost: the agent is not on the PATH; running without evidence' >&2\n" +
        "  (unset MILEPOST_SECRET MILEPOST_TOKEN; ${inner})\n" +
        "fi\n"
}

// s in single quotes for sh.
String milepostQuote(String s) {
    return "'" + s.replace("'", "'\\''") + "'"
}

// The delegate of milepost { ... }: its sh is milepost.run's.
class MilepostShell implements Serializable {
    private final def steps
    private final Map opts

    MilepostShell(steps, Map opts) {
        this.steps = steps
        this.opts = opts
    }

    def sh(String script) {
        return steps.milepostSh(opts, [script: script])
    }

    def sh(Map args) {
        return steps.milepostSh(opts, args)
    }

    // Windows steps are not wrapped (the agent is built for Unix): they
    // run as they would without milepost { }, after a warning in the log.
    def bat(String script) {
        return bat([script: script])
    }

    def bat(Map args) {
        steps.echo 'milepost: bat is not wrapped; this step runs without evidence'
        return steps.bat(args)
    }

    def powershell(String script) {
        return powershell([script: script])
    }

    def powershell(Map args) {
        steps.echo 'milepost: powershell is not wrapped; this step runs without evidence'
        return steps.powershell(args)
    }

    def pwsh(String script) {
        return pwsh([script: script])
    }

    def pwsh(Map args) {
        steps.echo 'milepost: pwsh is not wrapped; this step runs without evidence'
        return steps.pwsh(args)
    }
}
