//! The `message-chat` Lambda function.

fn main() -> std::process::ExitCode {
    functions::lambda::run(&functions::routes::message_chat)
}
