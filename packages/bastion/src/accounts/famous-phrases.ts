// Phrases people pick because everyone knows them, so a cracker's phrase list tries them first.
// zxcvbn's dictionaries hold single words, so it rates a famous phrase as several random words
// (`correcthorsebatterystaple`, the passphrase of xkcd 936, scores 10^12 guesses). Given to it as
// one more ranked dictionary, such a phrase counts as one guess among a few hundred, with its
// capitalisation, l33t spellings and a few added characters still recognised.

const PHRASES = [
  'correct horse battery staple',
  'the quick brown fox jumps over the lazy dog',
  'the quick brown fox',
  'mary had a little lamb',
  'twinkle twinkle little star',
  'to be or not to be',
  'to be or not to be that is the question',
  'may the force be with you',
  'i am your father',
  'a long time ago in a galaxy far far away',
  'live long and prosper',
  'beam me up scotty',
  'one ring to rule them all',
  'you shall not pass',
  'winter is coming',
  'valar morghulis',
  'the cake is a lie',
  'all your base are belong to us',
  'never gonna give you up',
  'to infinity and beyond',
  'houston we have a problem',
  'elementary my dear watson',
  'i think therefore i am',
  'carpe diem',
  'hakuna matata',
  'open sesame',
  'abracadabra',
  'let me in',
  'hello world',
  'i love you',
  'trust no one',
  'the truth is out there',
  'just do it',
  'yolo swag',
  'god is good',
  'jesus loves me',
  'in god we trust',
  'life is good',
  'the answer is forty two',
  'do or do not there is no try',
  'what is the password',
  'this is my password',
  'my password is password',
  'change me now',
  'keep calm and carry on',
  'there is no place like home',
  'we are the champions',
  'stairway to heaven',
  'purple monkey dishwasher',
  'it was a dark and stormy night',
  'call me ishmael',
  'once upon a time',
  'happily ever after',
  'rosebud',
  'i am the walrus',
  'let it be',
  'all you need is love',
  'imagine all the people',
  'somewhere over the rainbow',
  'supercalifragilisticexpialidocious',
] as const;

// The separators a phrase is typed with; zxcvbn matches dictionary entries as substrings of
// the lowercased password, so each spelling is its own entry.
const SEPARATORS = ['', ' ', '-', '_', '.'] as const;

/** Every spelling of every phrase, the most famous first (zxcvbn ranks by position). */
export const FAMOUS_PHRASES: readonly string[] = [...new Set(PHRASES.flatMap((p) => SEPARATORS.map((s) => p.replaceAll(' ', s))))];
