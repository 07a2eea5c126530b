// A tour in JavaScript (the local pool runs it with node).
// %%
const greeting = `Hello from Node ${process.version}`;
console.log(greeting);
// %%
greeting.split(" ").length;
