fn main() -> std::process::ExitCode {
    deploy_action::main()
}
