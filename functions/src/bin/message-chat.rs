//! The `message-chat` Lambda function.

fn main() -> std::process::ExitCode {
    functions::lambda::run(&functions::message_chat::ENDPOINT)
}
