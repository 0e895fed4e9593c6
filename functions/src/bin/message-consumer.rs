//! The `message-consumer` Lambda function: the chat queue's consumer.

fn main() -> std::process::ExitCode {
    functions::lambda::run_consumer("message-consumer", |app| Box::new(shared::chat::ChatConsumer::new(app)))
}
