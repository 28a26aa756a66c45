fn main() {
    println!("beamlink");
}
