// tests/it/jenkins-step.groovy: runs plugins/jenkins/vars/milepost.groovy
// the way a Jenkinsfile would, with sh, withCredentials, withEnv and env
// stood in for, and writes the shell commands the sh steps would run
// (NUL-separated) to args[1], for hooks-jenkins.sh to run for real.
// Usage: groovy jenkins-step.groovy vars/milepost.groovy OUT
def commands = []
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
def milepost = new GroovyShell(this.class.classLoader, binding).parse(new File(args[0]))

// A Jenkinsfile's stage:
milepost(service: 'shop') {
    sh 'echo building'
    sh(script: 'echo "it\'s quoted"; exit 4', returnStatus: true)
}
milepost.run('true')

new File(args[1]).text = commands.join('\u0000')
