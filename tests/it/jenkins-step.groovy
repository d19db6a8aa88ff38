// tests/it/jenkins-step.groovy: runs plugins/jenkins/vars/milepost.groovy
// the way a Jenkinsfile would, with sh, withCredentials, withEnv and env
// stood in for, and writes the shell commands the sh steps would run
// (NUL-separated) to args[1], for hooks-jenkins.sh to run for real, and
// the other steps it called (echo, bat, powershell), one a line, to args[2].
// Usage: groovy jenkins-step.groovy vars/milepost.groovy OUT NOTES
def commands = []
def notes = []
def binding = new Binding()
binding.env = [BUILD_TAG: 'jenkins-acme-shop-main-42', STAGE_NAME: 'Unit tests']
binding.sh = { a -> commands << a.script; return a.returnStatus ? 0 : null }
binding.withCredentials = { list, Closure body ->
    assert list == [[credentialsId: 'milepost-secret', variable: 'MILEPOST_SECRET']]
    body()
}
binding.withEnv = { list, Closure body -> body() }
binding.string = { m -> m }
binding.error = { msg -> throw new RuntimeException(msg) }
binding.echo = { msg -> notes << "echo ${msg}" }
binding.bat = { a -> notes << "bat ${a.script}"; return null }
binding.powershell = { a -> notes << "powershell ${a.script}"; return null }
def milepost = new GroovyShell(this.class.classLoader, binding).parse(new File(args[0]))

// A Jenkinsfile's stage:
milepost(service: 'shop') {
    sh 'echo building; echo "secret-lines: $(env | grep -c ^MILEPOST_SECRET=)"'
    sh(script: 'echo "it\'s quoted"; exit 4', returnStatus: true)
    sh '#!/bin/bash\necho "shebang: $BASH_VERSION"; [[ -n $BASH_VERSION ]]'
    bat 'echo windows'
    powershell 'Write-Output windows'
}
milepost.run('true')

new File(args[1]).text = commands.join('\u0000')
new File(args[2]).text = notes.join('\n') + '\n'
