#include "core/ParamDecl.h"

#include <utility>

namespace sg {

ParamBuilder::ParamBuilder(NodeDecl& decl, std::string id) : decl_(decl) { info_.id = std::move(id); }

ParamBuilder& ParamBuilder::range(UnitKind unit, double minValue, double maxValue) {
    info_.unit = unit;
    info_.minValue = minValue;
    info_.maxValue = maxValue;
    return *this;
}
ParamBuilder& ParamBuilder::choices(std::initializer_list<double> values) {
    info_.choices = values;
    return *this;
}
ParamBuilder& ParamBuilder::choices(std::vector<double> values) {
    info_.choices = std::move(values);
    return *this;
}
ParamBuilder& ParamBuilder::defaultValue(double value) {
    info_.defaultValue = value;
    return *this;
}
ParamBuilder& ParamBuilder::wholeNumber() {
    wholeNumber_ = true;
    return *this;
}
ParamBuilder& ParamBuilder::describe(std::string text) {
    info_.description = std::move(text);
    return *this;
}

int ParamBuilder::add(ParamMotion motion, double smoothingMs) {
    info_.smoothingMs = smoothingMs;
    decl_.info_.params.push_back(info_);
    decl_.behaviours_.push_back({motion, wholeNumber_});
    return int(decl_.info_.params.size()) - 1;
}
SmoothedParam ParamBuilder::smoothingMs(double ms) {
    SmoothedParam h;
    h.index = add(ParamMotion::Smoothed, ms);
    return h;
}
SteppedParam ParamBuilder::stepped() {
    SteppedParam h;
    h.index = add(ParamMotion::Stepped, 0);
    return h;
}
FixedParam ParamBuilder::fixed() {
    FixedParam h;
    h.index = add(ParamMotion::Fixed, 0);
    return h;
}

NodeDecl::NodeDecl(std::string name, std::string family) {
    info_.name = std::move(name);
    info_.family = std::move(family);
}
NodeDecl& NodeDecl::describe(std::string text) {
    info_.description = std::move(text);
    return *this;
}
NodeDecl& NodeDecl::input(std::string name, std::string description, bool required) {
    info_.inputs.push_back({std::move(name), std::move(description), required});
    return *this;
}
NodeDecl& NodeDecl::output(std::string name, std::string description) {
    info_.outputs.push_back({std::move(name), std::move(description), true});
    return *this;
}
NodeDecl& NodeDecl::channelRule(std::string text) {
    info_.channelRule = std::move(text);
    return *this;
}
NodeDecl& NodeDecl::batchable() {
    info_.batchable = true;
    return *this;
}
NodeDecl& NodeDecl::inPlace() {
    info_.inPlace = true;
    return *this;
}
NodeDecl& NodeDecl::fusionFamily(std::string family) {
    info_.fusionFamily = std::move(family);
    return *this;
}
NodeDecl& NodeDecl::compensationParam(std::string id) {
    info_.compensationParam = std::move(id);
    return *this;
}
NodeDecl& NodeDecl::reference(std::string text) {
    info_.reference = std::move(text);
    return *this;
}

ParamRef NodeDecl::find(const std::string& id) const {
    for (std::size_t i = 0; i < info_.params.size(); ++i)
        if (info_.params[i].id == id) return {int(i)};
    return {};
}

} // namespace sg
