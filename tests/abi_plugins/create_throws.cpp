// An input whose constructor throws: the SDK must turn it into a status.
#include <sonde/sdk.hpp>

#include <stdexcept>

class CreateThrows final : public sonde::InputPlugin {
public:
    explicit CreateThrows(sonde::Context &ctx) : InputPlugin(ctx) {
        throw std::runtime_error("cannot initialise the frobnicator");
    }
    void start() override {}
};

SONDE_INPUT_PLUGIN(CreateThrows, "create_throws", "0.0.1", "Test input whose create throws")
